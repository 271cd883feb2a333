package dev.narvault.encoder;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Forgotten;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.SignedTombstone;
import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code narvault forget}: a takedown. For each store path named (and every other store path whose
 * narinfo names the same NAR object, since the object is what is taken down):
 *
 * <ol>
 *   <li>a tombstone (store hash, the NAR's S3 key, FileHash and NarHash as recorded, its pack, the
 *       reason, the time) is signed with the archive key and stored on
 *       {@value DocumentPlacer#COPIES} holders like an alias, while marked pending so that garbage
 *       collection spares its copies;
 *   <li>the catalog records the path as forgotten with the tombstone's copies, in one transaction:
 *       from then on the gateway answers 404 for its narinfo and NAR and never asks S3;
 *   <li>its S3 objects ({@code <hash>.narinfo} and the NAR object) are deleted, and the catalog
 *       says so ({@link Forgotten.S3Objects#DELETED}).
 * </ol>
 *
 * All paths are recorded (steps 1 and 2) before any object is deleted, and every run then also
 * finishes the deletions earlier runs left pending (killed after step 2, or S3 failing); a
 * deletion that fails is reported and stays pending, and stops neither recording nor the other
 * deletions. A crash anywhere is finished by running it again: a path forgotten already is not
 * forgotten twice, its aliases are looked up again, and deleting an object that is gone is no error. A run killed during step 1
 * leaves copies no row names, which garbage collection deletes once the pending mark lapses.
 * Paths the catalog does not know are refused before anything is done. The NAR's bytes stay in
 * their pack; nothing here deletes fragments.
 */
public final class Takedown {
  private static final int PAGE = 500;
  /** Each tombstone's placement is marked pending for this long; placing three small copies takes seconds. */
  private static final Duration PENDING_LIFETIME = Duration.ofMinutes(10);

  /** What one run did. */
  public record Result(int forgotten, int alreadyForgotten, int s3ObjectsDeleted, int s3ObjectsPending) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "forgot %d store paths (%d were forgotten already); deleted the S3 objects "
          + "of %d", forgotten, alreadyForgotten, s3ObjectsDeleted)
          + (s3ObjectsPending == 0 ? "" : String.format(Locale.ROOT, "; the S3 objects of %d could not be deleted "
          + "and stay pending: run narvault forget again", s3ObjectsPending));
    }
  }

  private final Catalog catalog;
  private final DocumentPlacer documents;
  private final NixSecretKey archiveKey;
  private final ObjectSource objects;
  private final PrintStream out;
  private final InstantSource clock;
  private final WorkerLeases leases;

  /**
   * @param archiveKey signs the tombstones; readers (gateway, catalog-rebuild) must trust its public half
   * @param coordinator places the tombstones' copies
   * @param workDir where a tombstone waits while it is placed
   */
  public Takedown(Catalog catalog, HolderClient holders, PlacementAuthority coordinator, NixSecretKey archiveKey,
      ObjectSource objects, Path workDir, PrintStream out, InstantSource clock) {
    this.catalog = catalog;
    this.documents = new DocumentPlacer(new FragmentPlacer(coordinator, holders), workDir);
    this.archiveKey = archiveKey;
    this.objects = objects;
    this.out = out;
    this.clock = clock;
    this.leases = new WorkerLeases(catalog, "forget-" + java.util.UUID.randomUUID(), PENDING_LIFETIME, clock);
  }

  /**
   * The store hash of {@code /nix/store/<hash>-<name>}, {@code <hash>-<name>} or {@code <hash>}.
   *
   * @throws IllegalArgumentException with the value, when it is none of these
   */
  public static String storeHash(String pathOrHash) {
    String s = pathOrHash.strip();
    if (s.startsWith(StorePath.STORE_DIR + "/")) {
      s = s.substring(StorePath.STORE_DIR.length() + 1);
    }
    String hash = s.length() >= StorePath.HASH_PART_LENGTH ? s.substring(0, StorePath.HASH_PART_LENGTH) : s;
    boolean rest = s.length() == hash.length() || (s.charAt(hash.length()) == '-' && s.length() > hash.length() + 1);
    try {
      StorePath.validateHashPart(hash);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + pathOrHash + "' is not a store path or store hash");
    }
    if (!rest) {
      throw new IllegalArgumentException("'" + pathOrHash + "' is not a store path or store hash");
    }
    return hash;
  }

  /**
   * Forgets {@code storeHashes} for {@code reason}, then deletes the S3 objects of every forgotten
   * path still pending (this run's and earlier runs').
   *
   * @throws IllegalArgumentException naming them, when some store hashes are not in the catalog
   *     (nothing is done then)
   */
  public Result run(List<String> storeHashes, String reason) throws IOException {
    if (!storeHashes.isEmpty() && (reason == null || reason.isBlank()
        || reason.length() > SignedTombstone.Tombstone.MAX_REASON)) {
      throw new IllegalArgumentException("--reason is required: a sentence of 1 to "
          + SignedTombstone.Tombstone.MAX_REASON + " characters saying why (it is signed into each tombstone)");
    }
    List<String> unknown = new ArrayList<>();
    for (String h : new LinkedHashSet<>(storeHashes)) {
      if (catalog.narByStoreHash(h).isEmpty()) {
        unknown.add(h);
      }
    }
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException("not in the archive's catalog, so nothing to forget (nothing was done): "
          + String.join(", ", unknown.subList(0, Math.min(10, unknown.size())))
          + (unknown.size() > 10 ? " and " + (unknown.size() - 10) + " more" : "")
          + ". narvault forget takes down archived NARs; a NAR only in S3 is deleted from the bucket directly");
    }
    // Recording comes first: it is what makes the gateway answer 404, and no S3 trouble may delay it.
    int forgotten = 0;
    int already = 0;
    for (String h : new LinkedHashSet<>(storeHashes)) {
      if (catalog.forgotten().isForgotten(h)) {
        already++;
      }
      ArchivedNar nar = catalog.narByStoreHash(h).orElseThrow();
      // The object is what is taken down: every path naming it goes with it. Expanded even when
      // this path is forgotten already, so that a run stopped halfway through its aliases (or an
      // alias recorded since) is finished by running it again.
      Set<String> done = new LinkedHashSet<>();
      // Twice: an alias committed while the first pass recorded is seen by the second; once the
      // object is recorded as forgotten, no alias to it is accepted any more (NarIndex#addAlias).
      for (int pass = 0; pass < 2; pass++) {
        for (ArchivedNar same : catalog.nars().narsByFileKey(nar.fileKey())) {
          if (!catalog.forgotten().isForgotten(same.storeHash()) && forget(same, reason)) {
            done.add(same.storeHash());
          }
        }
      }
      forgotten += done.size();
      if (!done.isEmpty()) {
        out.printf(Locale.ROOT, "forgot %s (%s); %.0f%% of pack %s is now forgotten%n", String.join(", ", done),
            nar.fileKey(), 100 * catalog.forgotten().deadShare(nar.packId()), nar.packId().shortForm());
      }
    }
    int[] deletions = deletePending();
    return new Result(forgotten, already, deletions[0], deletions[1]);
  }

  /** Signs, places and records one path's tombstone; false when another run recorded it first. */
  private boolean forget(ArchivedNar nar, String reason) throws IOException {
    String narHash = NarInfo.parse(nar.narInfo()).value("NarHash")
        .orElseThrow(() -> new IOException("the narinfo of " + nar.storeHash() + " has no NarHash"));
    SignedTombstone.Tombstone tombstone = new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT,
        nar.storeHash(), nar.fileKey(), nar.fileHash(), narHash, nar.packId().hex(), reason, clock.millis());
    byte[] bytes = ManifestCodec.toBytes(ManifestCodec.signTombstone(tombstone, archiveKey));
    PackId placementId = DocumentPlacer.placementId(DocumentPlacer.idOf(bytes));
    return leases.whilePending(placementId, () -> {
      var copies = documents.place(bytes, DocumentPlacer.COPIES, Set.of());
      leases.checkHeld(placementId);
      return catalog.forgotten().record(tombstone, copies, new String(bytes, StandardCharsets.UTF_8),
          Forgotten.S3Objects.PENDING);
    });
  }

  /**
   * Deletes the S3 objects of every forgotten path still pending, this run's and earlier runs'.
   * A failure is reported and leaves that path pending for the next run; it stops nothing else.
   *
   * @return how many paths' objects were deleted, and how many failed
   */
  private int[] deletePending() throws IOException {
    int deleted = 0;
    int failed = 0;
    String after = "";
    List<Forgotten.Entry> page;
    while (!(page = catalog.forgotten().withS3Objects(Forgotten.S3Objects.PENDING, after, PAGE)).isEmpty()) {
      for (Forgotten.Entry e : page) {
        String hash = e.tombstone().storeHash();
        try {
          // The narinfo first: a narinfo naming a NAR that is gone is worse than no narinfo.
          objects.delete(hash + ".narinfo");
          objects.delete(e.tombstone().fileKey());
        } catch (IOException | RuntimeException s3) {
          failed++;
          out.printf(Locale.ROOT, "could not delete the S3 objects of %s (%s), left pending for the next run: %s%n",
              hash, e.tombstone().fileKey(), s3.getMessage());
          continue;
        }
        catalog.forgotten().s3ObjectsDeleted(hash, clock.millis());
        deleted++;
      }
      after = page.getLast().tombstone().storeHash();
    }
    return new int[] {deleted, failed};
  }
}
