package dev.narvault.encoder;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.erasure.ParallelCodec;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentFiles;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.nix.NarVerificationException;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.SignedAlias;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackGrouping;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.core.pack.SignedManifest;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One migration run. For every {@code <hash>.narinfo} at the root of the cache, in key order:
 * skip it if already archived; parse it and check its signature; stream its NAR object into the
 * pack spool, verifying FileHash/FileSize (and NarHash/NarSize where it can decompress); when the
 * pack is full, encode it, place its fragments on distinct holders, confirm them, and record the
 * pack, its signed manifest and its NARs in the catalog in one transaction.
 *
 * <p>Fetching and verifying overlap ({@value #FETCH_WINDOW} at a time, each into its own file);
 * packing is strictly in key order. Nothing is deleted from S3. A crash loses at most the pack being assembled, which the next
 * run redoes: a NAR counts as archived only once its pack's catalog transaction committed.
 */
public final class Migration {
  private static final Logger LOG = LoggerFactory.getLogger(Migration.class);

  private final MigrateConfig config;
  private final ObjectSource objects;
  private final Catalog catalog;
  private final HolderClient holders;
  private final NixSecretKey archiveKey;
  private final FragmentPlacer placer;
  private final DocumentPlacer documents;
  private final PrintStream progress;
  private final Clock clock;

  private int archived;
  private long archivedBytes;
  private int packs;
  private int skipped;
  private int rejected;
  private int aliases;
  private int notSelected;
  private int busy;
  /** This run's name in the catalog's object claims. */
  private final String worker = "migrate-" + java.util.UUID.randomUUID();
  private boolean limitReached;
  private final List<MigrationSummary.Rejection> rejections = new ArrayList<>();
  private final Drainer drainer;
  private final ProgressLine line;

  /**
   * @param archiveKey signs pack manifests
   * @param coordinator decides where fragments go and signs the orders holders require
   */
  public Migration(MigrateConfig config, ObjectSource objects, Catalog catalog, HolderClient holders,
      NixSecretKey archiveKey, PlacementAuthority coordinator, PrintStream progress, Clock clock) {
    this.config = config;
    this.objects = objects;
    this.catalog = catalog;
    this.holders = holders;
    this.archiveKey = archiveKey;
    this.placer = new FragmentPlacer(coordinator, holders);
    this.documents = new DocumentPlacer(placer, config.workDir());
    this.progress = progress;
    this.clock = clock;
    this.drainer = new Drainer(catalog, new Archive(catalog, holders, Optional.of(TrustedKeys.of(archiveKey.publicKey()))),
        objects, config.drain(), clock);
    this.line = new ProgressLine(progress, clock);
  }

  public MigrationSummary run() throws IOException {
    Instant start = clock.instant();
    Files.createDirectories(config.workDir());
    // A directory of this run's own, so that two runs sharing a work directory cannot collide.
    Path runDir = Files.createTempDirectory(config.workDir(), "run-");
    if (config.drain().drains()) {
      // What earlier runs archived but did not drain (or were killed while draining) goes first.
      drainer.drainPending();
    }
    progress.printf(Locale.ROOT, "archiving with RS(%d,%d); %s%n", config.dataFragmentCount(),
        config.parityFragmentCount(), switch (config.drain().mode()) {
          case DRY_RUN -> "dry run: nothing is deleted from S3";
          case DELETE -> "draining: verified NAR objects are deleted from S3";
          case MOVE -> "draining: verified NAR objects move to s3://" + config.drain().toBucket().orElseThrow()
              + config.drain().storageClass().map(c -> " (" + c + ")").orElse("");
        });
    int threads = Runtime.getRuntime().availableProcessors();
    // Claims are renewed while this run lives; if it dies, other workers take its objects soon after.
    java.util.concurrent.ScheduledExecutorService renewal = Executors.newSingleThreadScheduledExecutor(daemonThreads());
    long every = Math.max(250, config.claimLifetime().toMillis() / 4);
    renewal.scheduleWithFixedDelay(() -> {
      try {
        catalog.journal().renewClaims(worker, clock.millis() + config.claimLifetime().toMillis());
      } catch (Exception | Error e) {
        LOG.warn("could not renew this worker's claims: {}", e.toString());
      }
    }, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
    try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), daemonThreads());
        PackSpool spool = new PackSpool(runDir.resolve("pack.spool"));
        NarInfoListing keys = new NarInfoListing(objects)) {
      Codec codec = new ParallelCodec(
          Codecs.create(config.codec(), config.dataFragmentCount(), config.parityFragmentCount()),
          pool, threads, ParallelCodec.DEFAULT_MIN_PART);
      try {
        migrateAll(keys, spool, codec, runDir);
      } catch (NarInfoListing.ListingFailedException e) {
        throw e.io();
      }
      if (!spool.isEmpty()) {
        sealPack(spool, codec, runDir);
      }
    } finally {
      Files.deleteIfExists(runDir.resolve("pack.spool"));
      Files.deleteIfExists(runDir);
      renewal.shutdownNow();
      catalog.journal().releaseAll(worker);
    }
    if (config.drain().drains()) {
      // Aliases this run added to older packs, and objects a failed drain left: one more pass.
      drainer.drainPending();
    }
    Journal.Totals pending = catalog.journal().totals(Journal.State.COMMITTED);
    Drainer.Result drained = drainer.result();
    return new MigrationSummary(archived, archivedBytes, packs, skipped, rejected, notSelected, busy,
        new MigrationSummary.Drain(config.drain().mode(), drained.objects(), drained.bytes(), drained.failed(),
            pending.objects(), pending.bytes()),
        Duration.between(start, clock.instant()), List.copyOf(rejections));
  }

  /** What fetching one narinfo (and its NAR object) came to. */
  private sealed interface Fetched {
    /** Its store path is archived already. */
    record Skip() implements Fetched {}

    /** Not selected: excluded, not listed, or not cold enough. */
    record NotSelected() implements Fetched {}

    /** Another worker sharing the catalog is archiving this object right now. */
    record Busy() implements Fetched {}

    record Rejected(String why) implements Fetched {}

    /** Its NAR object is archived already, under another store path. */
    record Alias(NarInfo info, ArchivedNar existing) implements Fetched {}

    /** Its NAR object, verified, waiting in a file of the run directory. */
    record Ready(NarInfo info, Path file) implements Fetched {}
  }

  /**
   * Fetches and verifies up to {@value #FETCH_WINDOW} narinfos and NAR objects at once (network
   * and xz decompression overlap), but packs them strictly in key order, one after another.
   */
  private void migrateAll(Iterator<String> next, PackSpool spool, Codec codec, Path runDir) throws IOException {
    ArrayDeque<Map.Entry<String, Future<Fetched>>> window =
        new ArrayDeque<>();
    try (ExecutorService fetchers = Executors.newVirtualThreadPerTaskExecutor()) {
      try {
        while (!limitReached && (next.hasNext() || !window.isEmpty())) {
          while (window.size() < FETCH_WINDOW && next.hasNext()) {
            String key = next.next();
            window.add(Map.entry(key, fetchers.submit(() -> fetch(key, runDir))));
          }
          var head = window.poll();
          handle(head.getKey(), await(head.getValue()), spool, codec, runDir);
        }
      } finally {
        // Whatever was fetched but not packed (limit reached, or a failure): drop its file.
        for (var pending : window) {
          try {
            if (await(pending.getValue()) instanceof Fetched.Ready ready) {
              Files.deleteIfExists(ready.file());
            }
          } catch (IOException e) {
            LOG.debug("discarding {}: {}", pending.getKey(), e.getMessage());
          }
        }
      }
    }
  }

  /** Fetches that may run at once. */
  static final int FETCH_WINDOW = 4;

  private static Fetched await(Future<Fetched> future) throws IOException {
    try {
      return future.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while fetching NARs");
    }
  }

  /** Runs on a fetcher thread: everything about one narinfo that needs no order. */
  private Fetched fetch(String narInfoKey, Path runDir) throws IOException {
    String hash = narInfoKey.substring(0, 32);
    if (!config.selection().wants(hash)) {
      return new Fetched.NotSelected();
    }
    if (catalog.isArchived(hash)) {
      return new Fetched.Skip();
    }
    NarInfo info;
    try {
      info = NarInfo.parse(readNarInfo(narInfoKey));
      if (!info.storePath().hashPart().equals(hash)) {
        throw new IllegalArgumentException("narinfo " + narInfoKey + " describes " + info.storePath());
      }
      config.trustedKeys().verify(info);
      checkUrl(info);
    } catch (IllegalArgumentException | SignatureVerificationException e) {
      return new Fetched.Rejected(e.getMessage());
    }
    var archivedObject = catalog.narByFileKey(info.url());
    if (archivedObject.isPresent()) {
      return new Fetched.Alias(info, archivedObject.get());
    }
    if (config.selection().olderThan().isPresent()) {
      try {
        if (!config.selection().coldEnough(objects.stat(info.url()).lastModified(), clock.instant())) {
          return new Fetched.NotSelected();
        }
      } catch (ObjectNotFoundException e) {
        return new Fetched.Rejected("its NAR object " + info.url() + " is missing");
      }
    }
    long now = clock.millis();
    if (!catalog.journal().claimObject(info.url(), worker, now, now + config.claimLifetime().toMillis())) {
      return new Fetched.Busy();
    }
    Path file = Files.createTempFile(runDir, "nar-", ".verified");
    try (InputStream object = objects.open(info.url());
        OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      NarObjectVerifier.verify(object, info, out);
    } catch (ObjectNotFoundException | NarVerificationException e) {
      Files.deleteIfExists(file);
      catalog.journal().releaseObjects(worker, List.of(info.url()));
      return new Fetched.Rejected(e.getMessage());
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    return new Fetched.Ready(info, file);
  }

  /** Runs in key order: counts, aliases, and appends verified objects to the pack. */
  private void handle(String narInfoKey, Fetched fetched, PackSpool spool, Codec codec, Path runDir)
      throws IOException {
    switch (fetched) {
      case Fetched.Skip skip -> skipped++;
      case Fetched.NotSelected n -> notSelected++;
      case Fetched.Busy b -> busy++;
      case Fetched.Rejected r -> reject(narInfoKey, r.why());
      case Fetched.Alias a -> alias(narInfoKey, a.info(), a.existing());
      case Fetched.Ready ready -> {
        try {
          pack(narInfoKey, ready.info(), ready.file(), spool, codec, runDir);
        } finally {
          Files.deleteIfExists(ready.file());
        }
      }
    }
  }

  /**
   * Another narinfo already brought this very NAR object into the archive: the bytes stay stored
   * once, and this store path is indexed too.
   */
  private void alias(String narInfoKey, NarInfo info, ArchivedNar existing) throws IOException {
    String conflict = aliasConflict(NarInfo.parse(existing.narInfo()), info);
    if (conflict != null) {
      reject(narInfoKey, "names " + info.url() + " " + conflict);
      return;
    }
    // The manifest of the existing pack is signed and immutable: the alias is a signed document
    // of its own, stored on holders like a manifest.
    SignedAlias document = ManifestCodec.signAlias(new SignedAlias.Alias(SignedAlias.Alias.FORMAT, existing.packId(),
        new Manifest.Nar(existing.fileKey(), existing.packOffset(), existing.length(), existing.fileHash(),
            info.text())), archiveKey);
    byte[] bytes = ManifestCodec.toBytes(document);
    Catalog.DocumentCopies copies = documents.place(bytes, DocumentPlacer.COPIES, Set.of());
    catalog.addAlias(info.storePath().hashPart(), existing, info.text(),
        Optional.of(Map.entry(copies, new String(bytes, StandardCharsets.UTF_8))), clock.millis());
    skipped++;
  }

  /**
   * Why {@code alias} may not share the object {@code verified} was verified with, or null. The
   * object's bytes were checked against {@code verified}'s signed NarHash; URL, FileHash and
   * Compression are unsigned, so another narinfo naming the same object is only accepted when its
   * own signed NarHash and NarSize say the same NAR.
   */
  static String aliasConflict(NarInfo verified, NarInfo alias) {
    if (!verified.narHash().equals(alias.narHash()) || verified.narSize() != alias.narSize()) {
      return "but signs another NAR (NarHash/NarSize) than the object's verified one";
    }
    if (!verified.fileHash().equals(alias.fileHash()) || !verified.compression().equals(alias.compression())) {
      return "with another FileHash or Compression than the archived object";
    }
    return null;
  }

  private void pack(String narInfoKey, NarInfo info, Path file, PackSpool spool, Codec codec, Path runDir)
      throws IOException {
    if (spool.contains(info.url())) {
      try {
        spool.addAlias(info.url(), info);
        aliases++;
      } catch (IllegalArgumentException e) {
        reject(narInfoKey, e.getMessage());
      }
      return;
    }
    // A pack sealed since this object was fetched may hold it already.
    var sealedMeanwhile = catalog.narByFileKey(info.url());
    if (sealedMeanwhile.isPresent()) {
      alias(narInfoKey, info, sealedMeanwhile.get());
      return;
    }
    long size = info.fileSize().getAsLong();
    if (PackGrouping.startsNewPack(spool.isEmpty(), spool.length(), size, config.packSize())) {
      sealPack(spool, codec, runDir);
    }
    spool.appendVerified(info.url(), info, file);
    if (config.limit() > 0 && archived + spool.nars().size() >= config.limit()) {
      limitReached = true;
    }
  }

  /** The narinfo's bytes; one that vanished since the listing is a rejection, not a failed run. */
  private byte[] readNarInfo(String key) throws IOException {
    try {
      return objects.readSmall(key, NarInfo.MAX_BYTES);
    } catch (ObjectNotFoundException e) {
      throw new IllegalArgumentException("narinfo " + key + " disappeared since the listing");
    }
  }

  private static void checkUrl(NarInfo info) {
    String url = info.url();
    if (!url.startsWith("nar/") || url.contains("..") || url.contains("//") || url.contains("?")) {
      throw new IllegalArgumentException("narinfo of " + info.storePath() + " has an unexpected URL '" + url + "'");
    }
    if (info.fileSize().isEmpty() || info.fileHash().isEmpty()) {
      throw new IllegalArgumentException("narinfo of " + info.storePath() + " lacks FileHash/FileSize");
    }
  }

  private void reject(String key, String why) {
    rejected++;
    if (rejections.size() < MigrationSummary.MAX_REJECTIONS_LISTED) {
      rejections.add(new MigrationSummary.Rejection(key, why));
    }
    LOG.warn("rejected {}: {}", key, why);
    progress.println("  rejected " + key + ": " + why);
  }

  /** Encodes, places, confirms and records the spooled pack, then empties the spool. */
  private void sealPack(PackSpool spool, Codec codec, Path runDir) throws IOException {
    Instant begin = clock.instant();
    long packLength = spool.length();
    List<Manifest.Nar> nars = spool.nars();
    PackLayout layout = PackLayout.of(config.dataFragmentCount(), config.parityFragmentCount(), packLength,
        config.blockSize());
    try (FragmentFiles fragments = new FragmentFiles(runDir, "fragment-", layout.totalFragmentCount())) {
      List<FragmentDigest> digests = new PackEncoder(codec).encode(PackSource.of(spool.channel()), layout,
          fragments.outputs());
      fragments.finish();
      List<Path> files = fragments.files();
      Manifest manifest = Manifest.of(layout, digests, nars);
      SignedManifest signed = ManifestCodec.sign(manifest, archiveKey);
      String packId = ManifestCodec.packId(manifest);
      List<FragmentPlacer.Fragment> toPlace = new ArrayList<>();
      for (int i = 0; i < files.size(); i++) {
        toPlace.add(new FragmentPlacer.Fragment(i, digests.get(i).id(), files.get(i)));
      }
      List<FragmentPlacer.Placed> placed = placer.place(packId, config.blockSize(), toPlace, Set.of());
      byte[] signedBytes = ManifestCodec.toBytes(signed);
      // The manifest also goes to holders, so that the catalog can be rebuilt from them alone.
      Catalog.DocumentCopies manifestCopies = documents.place(signedBytes, DocumentPlacer.COPIES, Set.of());
      catalog.recordPack(packId, manifest, new String(signedBytes, StandardCharsets.UTF_8),
          placed.stream().map(FragmentPlacer.Placed::holderId).toList(), Optional.of(manifestCopies), clock.millis());
      catalog.journal().releaseObjects(worker, nars.stream().map(Manifest.Nar::key).distinct().toList());
      packs++;
      archived += nars.size();
      skipped += aliases;
      archived -= aliases;
      aliases = 0;
      archivedBytes += packLength;
      progress.printf(Locale.ROOT, "pack %d %s: %d NARs, %.1f MiB -> %d fragments of %.1f MiB (%.1f s); %d NARs so far%n",
          packs, packId.substring(0, 12), nars.size(), packLength / 1048576.0, layout.totalFragmentCount(),
          layout.fragmentSize() / 1048576.0, Duration.between(begin, clock.instant()).toMillis() / 1000.0, archived);
      if (config.drain().drains()) {
        drainer.drainPack(packId);
      }
      line.update(archived, archivedBytes, rejected, drainer.result().objects());
    } finally {
      spool.reset();
    }
  }

  private static ThreadFactory daemonThreads() {
    return r -> {
      Thread t = new Thread(r, "narvault-encode");
      t.setDaemon(true);
      return t;
    };
  }
}
