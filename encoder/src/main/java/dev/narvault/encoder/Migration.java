package dev.narvault.encoder;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.erasure.ParallelCodec;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.nix.NarVerificationException;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.SignedAlias;
import dev.narvault.core.pack.PackGrouping;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.encoder.input.InputFailedException;
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
 * <p>Three stages overlap: fetching and verifying (a window of {@link #fetchWindow()} objects at a
 * time, each into its own file), appending to the pack being filled (strictly in key order), and
 * sealing the previous pack (encode, place, confirm, record, drain) on a thread of its own. At most
 * one pack seals while the next fills. Nothing leaves S3 before its pack is committed and read
 * back. A crash loses at most the packs being filled and sealed, which the next run redoes: a NAR
 * counts as archived only once its pack's catalog transaction committed.
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
  /** Encodes, places and commits each pack. */
  private final PackSealer packSealer;
  private final PrintStream progress;
  private final Clock clock;

  private int archived;
  private long archivedBytes;
  private int packs;
  private int skipped;
  private int rejected;
  private int notSelected;
  private int busy;
  /** The pack sealing on {@link #sealer} right now, if any; only the run's thread touches this. */
  private InFlight inFlight;
  private int packsStarted;
  /** This run's name in the catalog's object claims. */
  private final String worker = "migrate-" + java.util.UUID.randomUUID();
  private boolean limitReached;
  private final List<MigrationSummary.Rejection> rejections = new ArrayList<>();
  private final PlacementAuthority coordinator;
  /** This worker's object claims and pending packs, renewed while it runs. */
  private final WorkerLeases leases;
  /** Made by {@link #run} once the coordinator said its policy; none in a dry run. */
  private Drainer drainer;
  /** Made by {@link #run} with {@code --backstop-bucket}; none otherwise. */
  private BackstopWriter backstops;
  private final boolean terminal;
  /** Made by {@link #run} once it knows what it lists. */
  private ProgressLine line;
  /** Made by {@link #run}: its keys, selection sets and listing checkpoint. */
  private MigrationInput input;
  /** The keys of the NARs in the pack being filled, resolved when that pack commits. */
  private final List<ListingCheckpoint.Ticket> filling = new ArrayList<>();

  /**
   * @param archiveKey signs pack manifests; when the drain names the trusted archive keys, it must
   *     be one of them (IllegalArgumentException otherwise, before anything is done)
   * @param coordinator decides where fragments go and signs the orders holders require
   */
  public Migration(MigrateConfig config, ObjectSource objects, Catalog catalog, HolderClient holders,
      NixSecretKey archiveKey, PlacementAuthority coordinator, PrintStream progress, Clock clock) {
    this(config, objects, catalog, holders, archiveKey, coordinator, progress, clock, false);
  }

  /**
   * @param terminal {@code progress} is an interactive terminal: progress is a bar redrawn in
   *     place rather than a line every few seconds
   */
  public Migration(MigrateConfig config, ObjectSource objects, Catalog catalog, HolderClient holders,
      NixSecretKey archiveKey, PlacementAuthority coordinator, PrintStream progress, Clock clock, boolean terminal) {
    if (config.drain().archiveKeys().map(trusted -> !trusted.trusts(archiveKey.publicKey())).orElse(false)) {
      throw new IllegalArgumentException("the archive key signs as " + archiveKey.publicKey()
          + ", which the trusted archive keys (--archive-public-key) do not include: the gateway would refuse the "
          + "packs it makes (and a drain would take their NARs out of S3); nothing was done");
    }
    this.config = config;
    this.objects = objects;
    this.catalog = catalog;
    this.holders = holders;
    this.archiveKey = archiveKey;
    this.coordinator = coordinator;
    this.placer = new FragmentPlacer(coordinator, holders);
    this.documents = new DocumentPlacer(placer, config.workDir());
    this.progress = progress;
    this.clock = clock;
    this.leases = new WorkerLeases(catalog, worker, config.claimLifetime(), clock);
    this.packSealer = new PackSealer(placer, documents, leases, archiveKey, clock);
    this.terminal = terminal;
    this.line = new ProgressLine(progress, clock, terminal, Optional.empty());
  }

  public MigrationSummary run() throws IOException {
    Instant start = clock.instant();
    Files.createDirectories(config.workDir());
    // A directory of this run's own, so that two runs sharing a work directory cannot collide.
    Path runDir = Files.createTempDirectory(config.workDir(), "run-");
    try (MigrationInput opened = MigrationInput.open(config, objects, catalog, runDir, clock, progress)) {
      input = opened;
      return run(start, runDir);
    } finally {
      deleteRunDir(runDir);
    }
  }

  private MigrationSummary run(Instant start, Path runDir) throws IOException {
    input.description().forEach(progress::println);
    line = new ProgressLine(progress, clock, terminal, input.span());
    if (config.backstop().isPresent()) {
      MigrateConfig.Backstop to = config.backstop().get();
      backstops = new BackstopWriter(catalog, objects.inBucket(to.bucket()), to.bucket(), to.storageClass(),
          new Archive(catalog, holders, config.drain().archiveKeys()), runDir, clock);
      progress.println("backstops: one object per pack in s3://" + to.bucket()
          + to.storageClass().map(c -> " (" + c + ")").orElse(""));
    }
    if (config.drain().drains()) {
      // The drain judges packs by the coordinator's liveness window and domain limits: without
      // them, nothing is archived or drained.
      // Read back as the gateway will read: through manifests verified with the trusted keys.
      drainer = new Drainer(catalog, new Archive(catalog, holders, config.drain().archiveKeys()),
          objects, config.drain(), input.inUse(), drainPolicy(), (endpoint, fragmentId, length) -> {
            try {
              return holders.size(java.net.URI.create(endpoint), new dev.narvault.core.pack.FragmentId(fragmentId))
                  == length;
            } catch (IOException | IllegalArgumentException e) {
              return false;
            }
          }, clock, Optional.ofNullable(backstops), config.claimLifetime());
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
    // Claims and pending packs are renewed while this run lives; if it dies, other workers take
    // its objects soon after, and garbage collection the fragments of packs it did not commit.
    java.util.concurrent.ScheduledExecutorService renewal = Executors.newSingleThreadScheduledExecutor(daemonThreads());
    long every = leases.renewEvery().toMillis();
    renewal.scheduleWithFixedDelay(() -> {
      try {
        leases.renew();
      } catch (Exception | Error e) {
        LOG.warn("could not renew this worker's claims and pending packs: {}", e.toString());
      }
    }, every, every, java.util.concurrent.TimeUnit.MILLISECONDS);
    ExecutorService sealer = Executors.newSingleThreadExecutor(daemonThreads());
    ListingCheckpoint checkpoint = input.checkpoint();
    try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), daemonThreads())) {
      Codec codec = new ParallelCodec(
          Codecs.create(config.codec(), config.dataFragmentCount(), config.parityFragmentCount()),
          pool, threads, ParallelCodec.DEFAULT_MIN_PART);
      PackSpool spool = null;
      try {
        spool = newSpool(runDir);
        try {
          spool = migrateAll(input.keys(), spool, codec, runDir, sealer);
        } catch (InputFailedException e) {
          throw e.io();
        }
        if (!spool.isEmpty()) {
          startSeal(spool, codec, runDir, sealer);
          spool = null;
        }
        awaitSeal();
        if (limitReached) {
          checkpoint.save();
        } else {
          // Listed to the end: the next run starts a new pass.
          checkpoint.complete();
        }
      } catch (IOException | RuntimeException e) {
        // What is resolved so far is safe to continue from (a kill would leave the last save).
        checkpoint.save();
        throw e;
      } finally {
        if (spool != null) {
          spool.close();
        }
        // A failure while a pack was sealing: let that seal end (it commits or fails whole)
        // before the run directory goes.
        sealer.shutdown();
        awaitQuietly(sealer);
      }
    } finally {
      deleteRunDir(runDir);
      renewal.shutdownNow();
      catalog.journal().releaseAll(worker);
      line.finish();
    }
    if (drainer != null) {
      // Aliases this run added to older packs, and objects a failed drain left: one more pass.
      drainer.drainPending();
    }
    Journal.Totals pending = catalog.journal().totals(Journal.State.COMMITTED);
    Drainer.Result drained = drainer == null ? new Drainer.Result(0, 0, 0) : drainer.result();
    return new MigrationSummary(archived, archivedBytes, packs, skipped, rejected, notSelected, busy,
        new MigrationSummary.Kept(input.inUse().keptHot(), input.inUse().keptRequested()),
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

  /** A key in the fetch window: its ticket in the listing checkpoint, and its fetch. */
  private record Pending(String key, ListingCheckpoint.Ticket ticket, Future<Fetched> fetched) {}

  /**
   * Fetches and verifies up to {@link #fetchWindow()} narinfos and NAR objects at once (network
   * and xz decompression overlap), but packs them strictly in key order, one after another. Keys
   * the selection's lists pass over never enter the window.
   */
  private PackSpool migrateAll(Iterator<String> next, PackSpool first, Codec codec, Path runDir,
      ExecutorService sealer) throws IOException {
    ArrayDeque<Pending> window = new ArrayDeque<>();
    PackSpool spool = first;
    int size = fetchWindow();
    ListingCheckpoint checkpoint = input.checkpoint();
    try (ExecutorService fetchers = Executors.newVirtualThreadPerTaskExecutor()) {
      try {
        while (!limitReached && (next.hasNext() || !window.isEmpty())) {
          while (window.size() < size && next.hasNext()) {
            String key = next.next();
            if (!input.wants(key.substring(0, 32))) {
              notSelected++;
              checkpoint.listedResolved(key);
              checkpoint.tick();
              line.update(key, archived, archivedBytes, rejected, drainer == null ? 0 : drainer.result().objects());
              continue;
            }
            window.add(new Pending(key, checkpoint.listed(key), fetchers.submit(() -> fetch(key, runDir))));
          }
          if (window.isEmpty()) {
            continue;
          }
          Pending head = window.poll();
          spool = handle(head.key(), head.ticket(), await(head.fetched()), spool, codec, runDir, sealer);
          if (inFlight != null && inFlight.outcome().isDone()) {
            awaitSeal();
          }
          checkpoint.tick();
          line.update(head.key(), archived, archivedBytes, rejected,
              drainer == null ? 0 : drainer.result().objects());
        }
        return spool;
      } finally {
        // Whatever was fetched but not packed (limit reached, or a failure): drop its file.
        for (Pending pending : window) {
          try {
            if (await(pending.fetched()) instanceof Fetched.Ready ready) {
              Files.deleteIfExists(ready.file());
            }
          } catch (IOException e) {
            LOG.debug("discarding {}: {}", pending.key(), e.getMessage());
          }
        }
      }
    }
  }

  /**
   * Fetches that may run at once: objects are packed in key order, so while the oldest fetch is
   * still running the others wait finished; twice the cores (at least 4) keeps every core
   * decompressing. Each holds at most one verified object on local disk.
   */
  static int fetchWindow() {
    return Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
  }

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
    if (catalog.isArchived(hash)) {
      return new Fetched.Skip();
    }
    if (catalog.forgotten().isForgotten(hash)) {
      // Taken down (narvault forget), its S3 objects not deleted yet; its pack may have been
      // rewritten without it since, so it is not "archived" any more: never archived again.
      return new Fetched.Rejected("forgotten (narvault forget): not archived again");
    }
    // Requested lately under its store hash: not even its narinfo is read.
    if (input.inUse().requested(List.of(hash))) {
      return new Fetched.NotSelected();
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
    if (catalog.forgotten().isForgottenObject(info.url())) {
      return new Fetched.Rejected("names " + info.url() + ", which is forgotten (narvault forget): not archived");
    }
    // Requested lately under its object's key (before it was archived, logs name it so).
    if (input.inUse().requested(List.of(info.url()))) {
      return new Fetched.NotSelected();
    }
    if (config.selection().uploadedBefore().isPresent()) {
      try {
        // An inventory's LastModifiedDate spares the HEAD request.
        Optional<Instant> known = input.lastModified(info.url());
        Instant lastModified = known.isPresent() ? known.get() : objects.stat(info.url()).lastModified();
        if (!config.selection().coldEnough(lastModified, clock.instant())) {
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

  /**
   * Runs in key order: counts, aliases, and appends verified objects to the pack; answers the
   * spool now being filled. The key's ticket is resolved here, or with the pack it joins.
   */
  private PackSpool handle(String narInfoKey, ListingCheckpoint.Ticket ticket, Fetched fetched, PackSpool spool,
      Codec codec, Path runDir, ExecutorService sealer) throws IOException {
    ListingCheckpoint checkpoint = input.checkpoint();
    switch (fetched) {
      case Fetched.Skip skip -> skipped++;
      case Fetched.NotSelected n -> notSelected++;
      case Fetched.Busy b -> {
        busy++;
        checkpoint.busy(ticket, narInfoKey.substring(0, 32));
        return spool;
      }
      case Fetched.Rejected r -> reject(narInfoKey, r.why());
      case Fetched.Alias a -> alias(narInfoKey, a.info(), a.existing());
      case Fetched.Ready ready -> {
        try {
          return pack(narInfoKey, ticket, ready.info(), ready.file(), spool, codec, runDir, sealer);
        } finally {
          Files.deleteIfExists(ready.file());
        }
      }
    }
    checkpoint.resolved(ticket);
    return spool;
  }

  /**
   * Another narinfo already brought this very NAR object into the archive: the bytes stay stored
   * once, and this store path is indexed too.
   */
  private void alias(String narInfoKey, NarInfo info, ArchivedNar existing) throws IOException {
    if (catalog.forgotten().isForgottenObject(existing.fileKey())) {
      // Taken down (narvault forget) and deleted from the bucket: an alias would be a narinfo the
      // gateway serves for a NAR it answers 404 for.
      reject(narInfoKey, "names " + info.url() + ", which is forgotten (narvault forget): not archived");
      return;
    }
    String conflict = aliasConflict(NarInfo.parse(existing.narInfo()), info);
    if (conflict != null) {
      reject(narInfoKey, "names " + info.url() + " " + conflict);
      return;
    }
    try {
      placeAlias(info, existing);
    } catch (CatalogException e) {
      if (catalog.forgotten().isForgottenObject(existing.fileKey())) {
        // Taken down after it was looked up.
        reject(narInfoKey, "names " + info.url() + ", which is forgotten (narvault forget): not archived");
        return;
      }
      // The pack was rewritten (narvault forget) after the object was looked up: the object is on
      // the new pack now, and the alias goes there, once.
      Optional<ArchivedNar> now = catalog.narByFileKey(info.url());
      if (now.isEmpty() || now.get().packId().equals(existing.packId())
          || catalog.packs().retired(existing.packId()).isEmpty()) {
        throw e;
      }
      LOG.info("{}: pack {} was rewritten meanwhile; aliasing to {} instead", narInfoKey,
          existing.packId().shortForm(), now.get().packId().shortForm());
      placeAlias(info, now.get());
    }
    skipped++;
  }

  /** Signs, places and records the alias of {@code existing}'s object for {@code info}'s store path. */
  private void placeAlias(NarInfo info, ArchivedNar existing) throws IOException {
    // The manifest of the existing pack is signed and immutable: the alias is a signed document
    // of its own, stored on holders like a manifest.
    SignedAlias document = ManifestCodec.signAlias(new SignedAlias.Alias(SignedAlias.Alias.FORMAT, existing.packId().hex(),
        new Manifest.Nar(existing.fileKey(), existing.packOffset(), existing.length(), existing.fileHash(),
            info.text())), archiveKey);
    byte[] bytes = ManifestCodec.toBytes(document);
    PackId placementId = DocumentPlacer.placementId(DocumentPlacer.idOf(bytes));
    leases.whilePending(placementId, () -> {
      Catalog.DocumentCopies copies = documents.place(bytes, DocumentPlacer.COPIES, Set.of());
      leases.checkHeld(placementId);
      return catalog.addAlias(info.storePath().hashPart(), existing, info.text(),
          Optional.of(Map.entry(copies, new String(bytes, StandardCharsets.UTF_8))), clock.millis());
    });
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

  private PackSpool pack(String narInfoKey, ListingCheckpoint.Ticket ticket, NarInfo info, Path file, PackSpool spool,
      Codec codec, Path runDir, ExecutorService sealer) throws IOException {
    String hash = info.storePath().hashPart();
    if (spool.containsStorePath(hash)) {
      // The same key twice (a key list may repeat one): its first time archives it.
      skipped++;
      filling.add(ticket);
      return spool;
    }
    if (spool.contains(info.url())) {
      try {
        spool.addAlias(info.url(), info);
        filling.add(ticket);
      } catch (IllegalArgumentException e) {
        reject(narInfoKey, e.getMessage());
        input.checkpoint().resolved(ticket);
      }
      return spool;
    }
    if (inFlight != null && (inFlight.objects().contains(info.url()) || inFlight.storeHashes().contains(hash))) {
      // The pack sealing right now holds this object (or this store path): once it is committed,
      // this is an alias (or archived already).
      awaitSeal();
    }
    // A pack sealed since this object was fetched may hold it already (or this very store path).
    if (catalog.isArchived(hash)) {
      skipped++;
      input.checkpoint().resolved(ticket);
      return spool;
    }
    var sealedMeanwhile = catalog.narByFileKey(info.url());
    if (sealedMeanwhile.isPresent()) {
      alias(narInfoKey, info, sealedMeanwhile.get());
      input.checkpoint().resolved(ticket);
      return spool;
    }
    long size = info.fileSize().getAsLong();
    if (PackGrouping.startsNewPack(spool.isEmpty(), spool.length(), size, config.packSize())) {
      startSeal(spool, codec, runDir, sealer);
      spool = newSpool(runDir);
    }
    spool.appendVerified(info.url(), info, file);
    filling.add(ticket);
    int sealing = inFlight == null ? 0 : inFlight.nars();
    if (config.limit() > 0 && archived + sealing + spool.nars().size() >= config.limit()) {
      limitReached = true;
    }
    return spool;
  }

  private PackSpool newSpool(Path runDir) throws IOException {
    return new PackSpool(Files.createTempFile(runDir, "pack-", ".spool"));
  }

  /**
   * A pack handed to the sealing thread: what it holds (objects, store paths), its keys'
   * tickets, and its outcome.
   */
  private record InFlight(Set<String> objects, Set<String> storeHashes, int nars,
      List<ListingCheckpoint.Ticket> tickets, Future<Sealed> outcome) {}

  /** What sealing one pack came to. */
  private record Sealed(int nars, int aliases, long bytes) {}

  /**
   * Hands {@code spool} (which the sealing thread then owns and closes) to the sealing thread,
   * after the pack before it is done: at most one pack seals at a time.
   */
  private void startSeal(PackSpool spool, Codec codec, Path runDir, ExecutorService sealer) throws IOException {
    awaitSeal();
    int number = ++packsStarted;
    List<Manifest.Nar> nars = spool.nars();
    Future<Sealed> outcome = sealer.submit(() -> {
      try (spool) {
        return sealPack(spool, codec, runDir, number);
      }
    });
    inFlight = new InFlight(nars.stream().map(Manifest.Nar::key).collect(java.util.stream.Collectors.toUnmodifiableSet()),
        nars.stream().map(n -> n.parsedNarInfo().storePath().hashPart())
            .collect(java.util.stream.Collectors.toUnmodifiableSet()),
        nars.size(), List.copyOf(filling), outcome);
    filling.clear();
  }

  /** Waits for the pack sealing now, if any, and counts it; its failure is the run's failure. */
  private void awaitSeal() throws IOException {
    if (inFlight == null) {
      return;
    }
    InFlight sealing = inFlight;
    inFlight = null;
    Sealed sealed;
    try {
      sealed = sealing.outcome().get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException("sealing a pack failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while a pack was sealing");
    }
    packs++;
    archived += sealed.nars() - sealed.aliases();
    skipped += sealed.aliases();
    archivedBytes += sealed.bytes();
    input.checkpoint().packCommitted(sealing.tickets());
  }

  private static void awaitQuietly(ExecutorService executor) {
    try {
      if (!executor.awaitTermination(10, java.util.concurrent.TimeUnit.MINUTES)) {
        LOG.warn("a pack is still sealing after 10 minutes; leaving it");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Deletes a run's directory and the files in it; one that is gone already is no error. */
  static void deleteRunDir(Path runDir) throws IOException {
    try (var files = Files.list(runDir)) {
      for (Path f : files.toList()) {
        Files.deleteIfExists(f);
      }
    } catch (java.nio.file.NoSuchFileException e) {
      return;
    }
    Files.deleteIfExists(runDir);
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
    line.message("  rejected " + key + ": " + why);
  }

  /** Runs on the sealing thread: encodes, places, confirms, records and drains the spooled pack. */
  private Sealed sealPack(PackSpool spool, Codec codec, Path runDir, int number) throws IOException {
    Instant begin = clock.instant();
    long packLength = spool.length();
    List<Manifest.Nar> nars = spool.nars();
    PackSealer.Sealed<byte[]> sealed = packSealer.seal(spool, codec, config.dataFragmentCount(),
        config.parityFragmentCount(), config.blockSize(), Optional.empty(), runDir, pack -> {
          packSealer.checkHeld(pack);
          catalog.recordPack(pack.packId(), pack.manifest(), pack.signedText(),
              pack.fragments().stream().map(FragmentPlacer.Placed::holderId).toList(),
              Optional.of(pack.manifestCopies()), clock.millis());
          return pack.signedManifest();
        });
    PackId packId = sealed.packId();
    PackLayout layout = sealed.layout();
    catalog.journal().releaseObjects(worker, nars.stream().map(Manifest.Nar::key).distinct().toList());
    Instant end = clock.instant();
    Duration encoding = sealed.encoding();
    line.message(String.format(Locale.ROOT,
        "pack %d %s: %d NARs, %.1f MiB -> %d fragments of %.1f MiB (encoded in %.1f s, placed in %.1f s)",
        number, packId.shortForm(), nars.size(), packLength / 1048576.0, layout.totalFragmentCount(),
        layout.fragmentSize() / 1048576.0, encoding.toMillis() / 1000.0,
        (Duration.between(begin, end).toMillis() - encoding.toMillis()) / 1000.0));
    if (backstops != null) {
      try {
        backstops.place(packId, spool.file(), packLength, sealed.committed());
      } catch (IOException e) {
        // The pack is committed: the drain places its backstop (from the holders) before it
        // drains anything of it, or leaves its objects in S3.
        LOG.warn("pack {}: its backstop was not placed now: {}", packId.shortForm(), e.getMessage());
        line.message("  pack " + packId.shortForm() + ": backstop not placed yet: " + e.getMessage());
      }
    }
    if (drainer != null) {
      drainer.drainPack(packId);
    }
    return new Sealed(nars.size(), spool.aliasCount(), packLength);
  }

  /** The coordinator's liveness window and domain limits, which a drain needs; failing clearly without them. */
  private CoordinatorMessages.Policy drainPolicy() throws IOException {
    try {
      return coordinator.policy();
    } catch (IOException e) {
      throw new IOException("cannot drain: the coordinator did not give its liveness window and failure-domain "
          + "limits (GET /v1/policy), by which the drain judges whether a pack is safely placed: " + e.getMessage()
          + "; nothing was archived or deleted", e);
    }
  }

  private static ThreadFactory daemonThreads() {
    return r -> {
      Thread t = new Thread(r, "narvault-migrate");
      t.setDaemon(true);
      return t;
    };
  }
}
