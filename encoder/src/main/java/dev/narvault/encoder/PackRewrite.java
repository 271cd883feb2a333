package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.PackRecords;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.ObjectSource;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code forget}'s rewrite pass: a pack whose forgotten NARs make up at least a share of its bytes
 * is written again without them, and the old one retired, so that the taken-down bytes leave the
 * holders (garbage collection deletes a retired pack's copies an hour after the rewrite).
 *
 * <p>For one pack, under its claim ({@link dev.narvault.core.catalog.RepairClaims}: repair and
 * garbage collection leave it alone meanwhile, and it is renewed while the rewrite runs):
 * <ol>
 *   <li>its signed manifest is verified with the trusted archive keys; every store path the
 *       catalog has on it that is not forgotten is read through the holders (every block checked
 *       against the manifest) and checked against its narinfo (FileHash, NarHash), each object
 *       once, into a spool; the other store paths naming an object are listed with it;
 *   <li>the spool is sealed as migrate seals a pack, with the same code and block size, its
 *       manifest signed with the archive key and naming the pack it replaces;
 *   <li>every object is read back through the new manifest from the holders it was placed on and
 *       checked against its narinfo again;
 *   <li>one catalog transaction moves the live paths to the new pack and retires the old one
 *       ({@link dev.narvault.core.catalog.PackRecords#commitRewrite}); it is refused, with nothing
 *       changed, if the claim was lost or a path was added to the old pack meanwhile.
 * </ol>
 * A pack with no live path left is retired without a new pack. A run killed anywhere before the
 * commit leaves the old pack whole and serving, and new copies no row names, which garbage
 * collection deletes once their pending marks lapse; after it, the old pack is retired and the
 * next run does not see it. When the old pack has a backstop, the new pack gets one in the same
 * bucket, and only then is the old backstop (with the forgotten bytes) deleted.
 */
public final class PackRewrite {
  private static final Logger LOG = LoggerFactory.getLogger(PackRewrite.class);
  /** The old pack's claim and the new pack's pending marks last this long unless renewed. */
  static final Duration LEASE = Duration.ofMinutes(10);

  /** What became of one pack. */
  public enum Outcome {
    /** Written again without its forgotten NARs; the old pack retired. */
    REWRITTEN,
    /** Every path on it was forgotten: retired, nothing written. */
    RETIRED,
    /** Left for another run: its claim was held by repair or another rewrite, or the rewrite failed. */
    LEFT
  }

  /** What a pass did: packs rewritten, retired whole, left (busy or failed), and bytes dropped. */
  public record Result(int rewritten, int retired, int left, long bytesDropped) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "rewrote %d packs without their forgotten NARs (%.1f MiB dropped), retired %d "
          + "packs all of whose NARs were forgotten", rewritten, bytesDropped / 1048576.0, retired)
          + (left == 0 ? "" : String.format(Locale.ROOT, "; %d packs were left (busy or failed): run narvault forget "
          + "again", left));
    }
  }

  private final Catalog catalog;
  private final Archive archive;
  private final TrustedKeys archiveKeys;
  private final Optional<ObjectSource> store;
  private final Path workDir;
  private final PrintStream out;
  private final InstantSource clock;
  private final String owner = "rewrite-" + UUID.randomUUID();
  private final WorkerLeases leases;
  private final PackSealer sealer;

  /**
   * @param archiveKey signs the new manifests; must be one of {@code archiveKeys}
   * @param archiveKeys verify the old manifests (and the new, read back)
   * @param store the cache's S3 store, through which backstops are written and deleted; none: a
   *     pack with a backstop is left as it is
   */
  public PackRewrite(Catalog catalog, HolderClient holders, PlacementAuthority coordinator, NixSecretKey archiveKey,
      TrustedKeys archiveKeys, Optional<ObjectSource> store, Path workDir, PrintStream out, InstantSource clock) {
    if (!archiveKeys.trusts(archiveKey.publicKey())) {
      throw new IllegalArgumentException("the archive key signs as " + archiveKey.publicKey()
          + ", which the trusted archive keys do not include: the gateway would refuse the rewritten packs");
    }
    this.catalog = catalog;
    // The old pack is read as the gateway reads it: from its backstop where fewer than k fragments answer.
    this.archive = store.isPresent() ? new Archive(catalog, holders, Optional.of(archiveKeys), store.get())
        : new Archive(catalog, holders, Optional.of(archiveKeys));
    this.archiveKeys = archiveKeys;
    this.store = store;
    this.workDir = workDir;
    this.out = out;
    this.clock = clock;
    this.leases = new WorkerLeases(catalog, owner, LEASE, clock);
    FragmentPlacer placer = new FragmentPlacer(coordinator, holders);
    this.sealer = new PackSealer(placer, new DocumentPlacer(placer, workDir), leases, archiveKey, clock);
  }

  /**
   * Rewrites every pack not retired whose forgotten share of bytes is at least {@code minShare}
   * (and above 0); the others are named with their share.
   */
  public Result rewriteDead(double minShare) throws IOException {
    if (!(minShare >= 0 && minShare <= 1)) {
      throw new IllegalArgumentException("the dead share must be 0 to 1, got " + minShare);
    }
    SortedMap<PackId, Double> packs = catalog.forgotten().packsWithForgotten();
    int rewritten = 0;
    int retired = 0;
    int left = 0;
    long dropped = 0;
    for (Map.Entry<PackId, Double> e : packs.entrySet()) {
      double share = e.getValue();
      if (share <= 0 || share < minShare) {
        out.printf(Locale.ROOT, "pack %s: %.0f%% forgotten, under %.0f%%: not rewritten%n", e.getKey().shortForm(),
            100 * share, 100 * minShare);
        continue;
      }
      long before;
      Rewritten r;
      try {
        before = catalog.packs().signedManifest(e.getKey()).map(m -> ManifestCodec.parseSigned(
            m.getBytes(StandardCharsets.UTF_8)).manifest().packLength()).orElse(0L);
        r = rewrite(e.getKey());
      } catch (IOException | RuntimeException failed) {
        LOG.warn("rewrite of pack {} failed", e.getKey(), failed);
        var committed = catalog.packs().retired(e.getKey());
        if (committed.isPresent()) {
          // The commit went through and only its answer was lost.
          out.printf(Locale.ROOT, "pack %s: retired (replaced by %s), though the rewrite reported: %s%n",
              e.getKey().shortForm(),
              committed.get().by().map(PackId::shortForm).orElse("none"), failed.getMessage());
          if (committed.get().by().isPresent()) {
            rewritten++;
          } else {
            retired++;
          }
          continue;
        }
        out.printf(Locale.ROOT, "pack %s: not rewritten, left as it was: %s%n", e.getKey().shortForm(),
            failed.getMessage());
        left++;
        continue;
      }
      switch (r.outcome()) {
        case REWRITTEN -> rewritten++;
        case RETIRED -> retired++;
        case LEFT -> left++;
      }
      if (r.outcome() != Outcome.LEFT) {
        dropped += before - r.newLength();
      }
    }
    left += finishBackstops();
    return new Result(rewritten, retired, left, dropped);
  }

  /**
   * The pack not retired at the end of {@code retired}'s chain of rewrites (it was replaced by a
   * pack, which may have been replaced in turn), if the chain ends in one; none when it ends in a
   * pack retired whole ({@link PackRecords#retireDead}).
   */
  private Optional<PackId> liveReplacement(PackId retired) throws CatalogException {
    PackId at = retired;
    for (int step = 0; step < 1000; step++) {
      Optional<PackRecords.Retired> r = catalog.packs().retired(at);
      if (r.isEmpty()) {
        return Optional.of(at);
      }
      if (r.get().by().isEmpty()) {
        return Optional.empty();
      }
      at = r.get().by().get();
    }
    throw new CatalogException("pack " + retired + ": its chain of rewrites does not end");
  }

  /**
   * Backstops of retired packs that are still recorded (a run killed or failing between the
   * commit and the backstop's replacement): the pack that serves its paths now (the end of its
   * chain of rewrites) gets its backstop, read back from its holders (every block verified), if it
   * has none; only then is the old object, with the forgotten bytes, deleted. Returns how many are
   * left for the next run.
   */
  private int finishBackstops() throws IOException {
    if (store.isEmpty()) {
      return 0;
    }
    int left = 0;
    for (Backstops.Backstop b : catalog.backstops().ofRetiredPacks(1000)) {
      Optional<PackId> by = liveReplacement(b.packId());
      try {
        if (by.isPresent() && catalog.backstops().of(by.get()).isEmpty()) {
          new BackstopWriter(catalog, store.get().inBucket(b.bucket()), b.bucket(), Optional.empty(), archive, workDir,
              clock).ensure(by.get());
          out.printf(Locale.ROOT, "pack %s: backstop placed (in place of retired pack %s's)%n", by.get().shortForm(),
              b.packId().shortForm());
        }
      } catch (IOException | RuntimeException e) {
        out.printf(Locale.ROOT, "pack %s: no backstop placed yet (%s); the retired pack %s's backstop %s, with the "
            + "forgotten bytes, is left for the next run%n", by.map(PackId::shortForm).orElse("?"), e.getMessage(),
            b.packId().shortForm(), b.location());
        left++;
        continue;
      }
      deleteBackstop(b.packId());
      if (catalog.backstops().of(b.packId()).isPresent()) {
        left++;
      }
    }
    return left;
  }

  /** What rewriting one pack came to: the outcome, the new pack (if any) and its length. */
  public record Rewritten(Outcome outcome, Optional<PackId> newPack, long newLength) {}

  /**
   * Rewrites {@code old} without its forgotten NARs (or retires it when none is left), as the
   * class says.
   *
   * @throws IOException when it cannot be done now (holders, coordinator, the claim lost, a path
   *     added meanwhile): nothing is committed then, and the old pack serves as before
   */
  public Rewritten rewrite(PackId old) throws IOException {
    long now = clock.millis();
    if (!catalog.repairClaims().claim(old, owner, now, now + LEASE.toMillis())) {
      out.printf(Locale.ROOT, "pack %s: repair (or another rewrite) holds it now; left for the next run%n",
          old.shortForm());
      return new Rewritten(Outcome.LEFT, Optional.empty(), 0);
    }
    ScheduledExecutorService renewal = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "narvault-rewrite-lease");
      t.setDaemon(true);
      return t;
    });
    long every = leases.renewEvery().toMillis();
    renewal.scheduleWithFixedDelay(() -> {
      try {
        leases.renew();
        if (!catalog.repairClaims().renewClaim(old, owner, clock.millis() + LEASE.toMillis())) {
          LOG.warn("pack {}: its claim was lost while it was rewritten; the commit will be refused", old);
        }
      } catch (Exception | Error e) {
        LOG.warn("could not renew the rewrite's claim and pending marks: {}", e.toString());
      }
    }, every, every, TimeUnit.MILLISECONDS);
    boolean committed = false;
    try {
      if (catalog.packs().retired(old).isPresent()) {
        return new Rewritten(Outcome.LEFT, Optional.empty(), 0);
      }
      Rewritten r = rewriteClaimed(old);
      committed = true;
      return r;
    } finally {
      renewal.shutdownNow();
      if (!committed) {
        catalog.repairClaims().release(old, owner);
      }
    }
  }

  private Rewritten rewriteClaimed(PackId old) throws IOException {
    String signedOld = catalog.packs().signedManifest(old)
        .orElseThrow(() -> new IOException("pack " + old + " is not in the catalog"));
    Manifest oldManifest;
    try {
      oldManifest = ManifestCodec.verify(signedOld.getBytes(StandardCharsets.UTF_8), archiveKeys);
    } catch (SignatureVerificationException e) {
      throw new IOException("the manifest of pack " + old + " is not signed by a trusted archive key: " + e.getMessage(),
          e);
    }
    // The live store paths, grouped by object in the pack's order.
    Map<String, List<ArchivedNar>> objects = new LinkedHashMap<>();
    for (ArchivedNar nar : catalog.nars().narsOnPack(old)) {
      if (!catalog.forgotten().isForgotten(nar.storeHash())) {
        objects.computeIfAbsent(nar.fileKey(), k -> new ArrayList<>()).add(nar);
      }
    }
    if (objects.isEmpty()) {
      catalog.packs().retireDead(old, owner, clock.millis());
      out.printf(Locale.ROOT, "pack %s: every NAR on it is forgotten: retired (%.1f MiB to collect)%n",
          old.shortForm(), oldManifest.packLength() / 1048576.0);
      deleteBackstop(old);
      return new Rewritten(Outcome.RETIRED, Optional.empty(), 0);
    }
    Files.createDirectories(workDir);
    Path runDir = Files.createTempDirectory(workDir, "rewrite-");
    try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        PackSpool spool = new PackSpool(Files.createTempFile(runDir, "pack-", ".spool"))) {
      for (List<ArchivedNar> paths : objects.values()) {
        ArchivedNar first = paths.getFirst();
        Path file = Files.createTempFile(runDir, "nar-", ".object");
        try {
          try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            VerifiedRead.into(archive, first, readers, o);
          }
          spool.appendVerified(first.fileKey(), NarInfo.parse(first.narInfo()), file);
        } finally {
          Files.deleteIfExists(file);
        }
        for (ArchivedNar alias : paths.subList(1, paths.size())) {
          spool.addAlias(first.fileKey(), NarInfo.parse(alias.narInfo()));
        }
      }
      long newLength = spool.length();
      PackSealer.Sealed<byte[]> sealed = sealer.seal(spool, Codecs.create(oldManifest.dataFragmentCount(),
          oldManifest.parityFragmentCount()), oldManifest.dataFragmentCount(), oldManifest.parityFragmentCount(),
          oldManifest.blockSize(), Optional.of(old), runDir, pack -> {
            readBack(pack, readers);
            sealer.checkHeld(pack);
            catalog.packs().commitRewrite(old, owner, pack.packId(), pack.manifest(), pack.signedText(),
                pack.fragments().stream().map(FragmentPlacer.Placed::holderId).toList(), pack.manifestCopies(),
                clock.millis());
            // Committed: the backstop follows from the spool at once (nothing here throws; what fails
            // is tried again by the next run, see finishBackstops).
            moveBackstop(old, pack.packId(), spool.file(), newLength, pack.signedManifest());
            return pack.signedManifest();
          });
      out.printf(Locale.ROOT, "pack %s: rewritten as %s without its forgotten NARs (%.1f MiB -> %.1f MiB, %d store "
              + "paths moved); the old pack is retired%n", old.shortForm(), sealed.packId().shortForm(),
          oldManifest.packLength() / 1048576.0, newLength / 1048576.0,
          objects.values().stream().mapToInt(List::size).sum());
      return new Rewritten(Outcome.REWRITTEN, Optional.of(sealed.packId()), newLength);
    } finally {
      Migration.deleteRunDir(runDir);
    }
  }

  /** Every object of the placed pack read back through its manifest from where it was placed, and checked. */
  private void readBack(PackSealer.Placed pack, ExecutorService readers) throws IOException {
    List<FragmentPlacement> placements = new ArrayList<>();
    for (FragmentPlacer.Placed p : pack.fragments()) {
      placements.add(new FragmentPlacement(pack.packId(), p.index(),
          pack.manifest().fragments().get(p.index()).id().hex(), p.holderId(), p.endpoint().toString(),
          FragmentState.STORED));
    }
    String previous = null;
    for (Manifest.Nar nar : pack.manifest().nars()) {
      if (nar.key().equals(previous)) {
        // Another store path naming the object just read.
        continue;
      }
      previous = nar.key();
      VerifiedRead.into(archive, pack.manifest(), placements, nar, readers, OutputStream.nullOutputStream());
    }
  }

  /**
   * The old pack's backstop, if any, is replaced by one of the new pack in the same bucket, and
   * only then deleted (it holds the forgotten bytes). A failure leaves the old backstop and is
   * reported: the new pack then has none.
   */
  private void moveBackstop(PackId old, PackId replacement, Path spool, long length, byte[] signedManifest) {
    Optional<Backstops.Backstop> backstop;
    try {
      backstop = catalog.backstops().of(old);
    } catch (CatalogException e) {
      out.printf(Locale.ROOT, "pack %s: could not look up its backstop: %s%n", old.shortForm(), e.getMessage());
      return;
    }
    if (backstop.isEmpty()) {
      return;
    }
    if (store.isEmpty()) {
      out.printf(Locale.ROOT, "pack %s: its backstop %s is left (no S3 store given); the new pack %s has none%n",
          old.shortForm(), backstop.get().location(), replacement.shortForm());
      return;
    }
    try {
      ObjectSource bucket = store.get().inBucket(backstop.get().bucket());
      new BackstopWriter(catalog, bucket, backstop.get().bucket(), Optional.empty(), archive, workDir, clock)
          .place(replacement, spool, length, signedManifest);
    } catch (IOException | RuntimeException e) {
      out.printf(Locale.ROOT, "pack %s: no backstop placed for the new pack %s (%s); the old backstop %s, with the "
          + "forgotten bytes, is left%n", old.shortForm(), replacement.shortForm(), e.getMessage(),
          backstop.get().location());
      return;
    }
    deleteBackstop(old);
  }

  /** Deletes the retired pack's backstop object, if it has one; a failure is reported. */
  private void deleteBackstop(PackId old) {
    try {
      Optional<Backstops.Backstop> backstop = catalog.backstops().of(old);
      if (backstop.isEmpty()) {
        return;
      }
      if (store.isEmpty()) {
        out.printf(Locale.ROOT, "pack %s: its backstop %s is left (no S3 store given)%n", old.shortForm(),
            backstop.get().location());
        return;
      }
      store.get().inBucket(backstop.get().bucket()).delete(backstop.get().key());
      catalog.backstops().remove(old);
      out.printf(Locale.ROOT, "pack %s: its backstop %s is deleted%n", old.shortForm(), backstop.get().location());
    } catch (IOException | RuntimeException e) {
      out.printf(Locale.ROOT, "pack %s: its backstop could not be deleted: %s%n", old.shortForm(), e.getMessage());
    }
  }
}
