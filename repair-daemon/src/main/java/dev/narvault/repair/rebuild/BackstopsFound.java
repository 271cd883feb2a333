package dev.narvault.repair.rebuild;

import dev.narvault.core.backstop.BackstopObject;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.StoredObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * After a catalog rebuild: which packs have a backstop, found by listing {@code packs/} of the
 * backstop bucket (one LIST per 1000 packs, no object read). An object counts for a pack the
 * rebuilt catalog has when its length is the pack's length plus its signed manifest's plus the
 * trailer; its bytes are verified against the manifest whenever it is read, as always.
 */
public final class BackstopsFound {
  private static final int BATCH = 1000;

  /**
   * @param recorded objects recorded as their packs' backstops
   * @param unknown objects naming no pack of the catalog (or not named like a backstop)
   * @param wrongLength objects whose length is not their pack's: not recorded
   */
  public record Result(long recorded, long unknown, long wrongLength) {
    @Override
    public String toString() {
      return "backstops: " + recorded + " recorded, " + unknown + " objects of no known pack, " + wrongLength
          + " of the wrong length";
    }
  }

  private BackstopsFound() {}

  /** Lists {@code bucket} (named {@code bucketName}) and records each backstop of a known pack. */
  public static Result record(Catalog catalog, ObjectSource bucket, String bucketName, long nowMillis)
      throws IOException {
    List<StoredObject> listed = new ArrayList<>();
    long[] counts = new long[3];
    IOException[] failed = new IOException[1];
    bucket.list("packs/", o -> {
      if (failed[0] != null) {
        return;
      }
      listed.add(o);
      if (listed.size() >= BATCH) {
        try {
          recordAll(catalog, listed, bucketName, nowMillis, counts);
        } catch (IOException e) {
          failed[0] = e;
        }
        listed.clear();
      }
    });
    if (failed[0] != null) {
      throw failed[0];
    }
    recordAll(catalog, listed, bucketName, nowMillis, counts);
    return new Result(counts[0], counts[1], counts[2]);
  }

  private static void recordAll(Catalog catalog, List<StoredObject> objects, String bucketName, long nowMillis,
      long[] counts) throws IOException {
    for (StoredObject o : objects) {
      Optional<PackId> packId = packIdOf(o.key());
      Optional<String> manifest = packId.isEmpty() ? Optional.empty() : catalog.signedManifest(packId.get());
      var shape = packId.isEmpty() ? Optional.<dev.narvault.core.catalog.Custody.PackShape>empty()
          : catalog.custody().shape(packId.get());
      if (packId.isPresent() && catalog.backstops().of(packId.get()).isPresent()) {
        counts[0]++; // recorded already, perhaps with its SHA-256: kept
        continue;
      }
      if (manifest.isEmpty() || shape.isEmpty()) {
        counts[1]++;
        continue;
      }
      long expected = BackstopObject.length(shape.get().packLength(),
          manifest.get().getBytes(StandardCharsets.UTF_8).length);
      if (o.size() != expected) {
        counts[2]++;
        continue;
      }
      catalog.backstops().record(new Backstops.Backstop(packId.get(), bucketName, o.key(), o.size(), Optional.empty()),
          nowMillis);
      counts[0]++;
    }
  }

  private static Optional<PackId> packIdOf(String key) {
    String hex = key.substring("packs/".length());
    return hex.matches("[0-9a-f]{64}") ? Optional.of(new PackId(hex)) : Optional.empty();
  }
}
