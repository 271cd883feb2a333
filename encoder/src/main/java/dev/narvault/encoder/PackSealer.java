package dev.narvault.encoder;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentFiles;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.holder.FragmentBytes;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.core.pack.SignedManifest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Seals a spooled pack: encodes it (only parity is new: the data fragments are slices of the
 * spool), signs its manifest with the archive key, places its fragments and three copies of its
 * manifest through the coordinator, and hands all of it to a commit. From before the first
 * placement order until the commit returns, the pack and its manifest's placement are pending
 * ({@link WorkerLeases}), so garbage collection spares their copies however long it takes; the
 * commit calls {@link #checkHeld} right before it writes the catalog. Migration commits a new
 * pack; a rewrite ({@link PackRewrite}) reads the pack back and commits it in place of the old.
 */
final class PackSealer {
  /** A sealed pack as placed, not committed yet. */
  record Placed(PackId packId, Manifest manifest, byte[] signedManifest, List<FragmentPlacer.Placed> fragments,
      Catalog.DocumentCopies manifestCopies) {
    String signedText() {
      return new String(signedManifest, StandardCharsets.UTF_8);
    }
  }

  /** What the commit does with a placed pack (it may fail: nothing is committed then). */
  @FunctionalInterface
  interface Commit<T> {
    T commit(Placed pack) throws IOException;
  }

  /** A sealed and committed pack: its id and layout, how long encoding took, and what the commit answered. */
  record Sealed<T>(PackId packId, PackLayout layout, Duration encoding, T committed) {}

  private final FragmentPlacer placer;
  private final DocumentPlacer documents;
  private final WorkerLeases leases;
  private final NixSecretKey archiveKey;
  private final InstantSource clock;

  PackSealer(FragmentPlacer placer, DocumentPlacer documents, WorkerLeases leases, NixSecretKey archiveKey,
      InstantSource clock) {
    this.placer = placer;
    this.documents = documents;
    this.leases = leases;
    this.archiveKey = archiveKey;
    this.clock = clock;
  }

  /**
   * Seals {@code spool} as an RS({@code k},{@code m}) pack of {@code blockSize} blocks, its parity
   * spooled in {@code workDir}, and commits it with {@code commit}.
   *
   * @param replaces the pack this one is rewritten from (signed into its manifest), if any
   */
  <T> Sealed<T> seal(PackSpool spool, Codec codec, int k, int m, int blockSize, Optional<PackId> replaces,
      Path workDir, Commit<T> commit) throws IOException {
    long begin = clock.millis();
    long packLength = spool.length();
    List<Manifest.Nar> nars = spool.nars();
    PackLayout layout = PackLayout.of(k, m, packLength, blockSize);
    int dataCount = layout.dataFragmentCount();
    try (FragmentFiles parity = new FragmentFiles(workDir, "parity-", layout.parityFragmentCount())) {
      List<OutputStream> outputs = new ArrayList<>();
      for (int i = 0; i < dataCount; i++) {
        outputs.add(OutputStream.nullOutputStream());
      }
      outputs.addAll(parity.outputs());
      List<FragmentDigest> digests = new PackEncoder(codec).encode(PackSource.of(spool.channel()), layout, outputs);
      parity.finish();
      Duration encoding = Duration.ofMillis(clock.millis() - begin);
      Manifest manifest = Manifest.of(layout, digests, nars, replaces);
      SignedManifest signed = ManifestCodec.sign(manifest, archiveKey);
      PackId packId = ManifestCodec.packId(manifest);
      List<FragmentPlacer.Fragment> toPlace = new ArrayList<>();
      for (int i = 0; i < layout.totalFragmentCount(); i++) {
        toPlace.add(new FragmentPlacer.Fragment(i, digests.get(i).id(), i < dataCount
            ? FragmentBytes.slice(spool.file(), i * layout.fragmentSize(), layout.fragmentSize())
            : FragmentBytes.of(parity.files().get(i - dataCount))));
      }
      byte[] signedBytes = ManifestCodec.toBytes(signed);
      T committed = leases.whilePending(packId, () -> {
        List<FragmentPlacer.Placed> placed = placer.place(packId, layout.parityFragmentCount(), blockSize, toPlace,
            Set.of());
        // The manifest also goes to holders, so that the catalog can be rebuilt from them alone.
        PackId manifestPlacement = DocumentPlacer.placementId(DocumentPlacer.idOf(signedBytes));
        return leases.whilePending(manifestPlacement, () -> {
          Catalog.DocumentCopies manifestCopies = documents.place(signedBytes, DocumentPlacer.COPIES, Set.of());
          return commit.commit(new Placed(packId, manifest, signedBytes, placed, manifestCopies));
        });
      });
      return new Sealed<>(packId, layout, encoding, committed);
    }
  }

  /**
   * Fails unless the pack's and its manifest's pending marks are held and stay held a while:
   * called by a commit right before it writes the catalog.
   */
  void checkHeld(Placed pack) throws IOException {
    leases.checkHeld(pack.packId());
    leases.checkHeld(DocumentPlacer.placementId(DocumentPlacer.idOf(pack.signedManifest())));
  }
}
