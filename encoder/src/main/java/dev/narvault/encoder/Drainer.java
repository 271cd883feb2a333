package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes archived NARs out of S3, one object at a time, only when it is safe (DESIGN §11):
 * the object's pack is committed in the catalog (it is in the journal), it has at least k + r
 * healthy fragments, and the NAR has just been read back through the holders, every block
 * verified, decompressed and found to match its signed NarHash and NarSize. Then the object is
 * copied to the drain bucket if there is one, and deleted. Each step is recorded in the journal
 * and each is safe to repeat, so a crash anywhere is finished by the next run.
 */
final class Drainer {
  private static final Logger LOG = LoggerFactory.getLogger(Drainer.class);
  private static final int PAGE = 500;

  /** What draining did, and what is left. */
  record Result(long objects, long bytes, long failed) {}

  private final Catalog catalog;
  private final Archive archive;
  private final ObjectSource objects;
  private final DrainConfig config;
  private final Clock clock;
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
  private long drained;
  private long drainedBytes;
  private long failed;

  Drainer(Catalog catalog, Archive archive, ObjectSource objects, DrainConfig config, Clock clock) {
    this.catalog = catalog;
    this.archive = archive;
    this.objects = objects;
    this.config = config;
    this.clock = clock;
  }

  /** Read by the run's thread while packs drain on the sealing thread. */
  synchronized Result result() {
    return new Result(drained, drainedBytes, failed);
  }

  /** Drains every object the journal holds as committed or verified: this run's and earlier runs'. */
  void drainPending() throws IOException {
    Pass pass = new Pass();
    for (Journal.State from : List.of(Journal.State.VERIFIED, Journal.State.COMMITTED)) {
      String after = "";
      while (true) {
        List<Journal.Entry> page = catalog.journal().inState(from, after, PAGE);
        if (page.isEmpty()) {
          break;
        }
        drainEach(page, pass);
        after = page.getLast().fileKey();
      }
    }
  }

  /** Drains the objects of one pack just committed. */
  void drainPack(String packId) throws IOException {
    drainEach(catalog.journal().inPack(packId, Journal.State.COMMITTED), new Pass());
  }

  /** Entries ordered by object key: each object once. */
  private void drainEach(List<Journal.Entry> entries, Pass pass) throws IOException {
    String last = null;
    for (Journal.Entry e : entries) {
      if (!e.fileKey().equals(last)) {
        drainObject(e, pass);
        last = e.fileKey();
      }
    }
  }

  /**
   * What one pass learns once: which holders are live (one read of the registry) and, per pack,
   * whether it is safely placed (one look at its placements, however many objects it holds).
   */
  private final class Pass {
    private java.util.Set<String> live;
    private final java.util.Map<String, Boolean> safe = new java.util.HashMap<>();

    boolean safelyPlaced(String packId) throws IOException {
      Boolean known = safe.get(packId);
      if (known == null) {
        known = Drainer.this.safelyPlaced(packId, live());
        safe.put(packId, known);
      }
      return known;
    }

    private java.util.Set<String> live() throws IOException {
      if (live == null) {
        long liveSince = clock.millis() - LIVE_WITHIN.toMillis();
        live = new java.util.HashSet<>();
        for (var h : catalog.holders()) {
          if (h.lastSeenMillis() >= liveSince && !h.exiting()) {
            live.add(h.holderId());
          }
        }
      }
      return live;
    }
  }

  /** One S3 object, named by one or more journal entries of one pack. */
  private void drainObject(Journal.Entry entry, Pass pass) throws IOException {
    try {
      if (entry.state() == Journal.State.COMMITTED) {
        if (!pass.safelyPlaced(entry.packId())) {
          LOG.info("not draining {}: pack {} has fewer than k + r healthy fragments", entry.fileKey(), entry.packId());
          return;
        }
        readBack(entry);
        catalog.journal().advance(entry.fileKey(), Journal.State.COMMITTED, Journal.State.VERIFIED, clock.millis());
      }
      remove(entry);
      catalog.journal().advance(entry.fileKey(), Journal.State.VERIFIED, Journal.State.DRAINED, clock.millis());
      synchronized (this) {
        drained++;
        drainedBytes += entry.fileSize();
      }
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      // Left as it was: in S3 and archived; the next run tries again.
      synchronized (this) {
        failed++;
      }
      LOG.warn("not draining {}: {}", entry.fileKey(), e.getMessage());
    }
  }

  /**
   * A holder counts for the drain only if it was heard from within this long: the coordinator's
   * default liveness window. (Migrate does not know the coordinator's setting; a shorter one there
   * only makes repair start sooner, never makes this check weaker than the default.)
   */
  static final java.time.Duration LIVE_WITHIN = java.time.Duration.ofHours(1);

  /** Distinct fragment indexes stored on live holders whose audits pass: at least k + r. */
  private boolean safelyPlaced(String packId, java.util.Set<String> live) throws IOException {
    var shape = catalog.custody().shape(packId).orElseThrow(() -> new IOException("no pack " + packId));
    long healthy = catalog.healthyPlacements(packId).stream().filter(p -> live.contains(p.holderId()))
        .mapToInt(FragmentPlacement::fragmentIndex).distinct().count();
    return healthy >= shape.dataFragmentCount() + config.threshold(shape.parityFragmentCount());
  }

  /** Reads the whole object back through the holders and checks it against its signed narinfo. */
  private void readBack(Journal.Entry entry) throws IOException {
    ArchivedNar nar = archive.narInfo(entry.storeHash())
        .orElseThrow(() -> new IOException("journal names " + entry.storeHash() + " but the catalog does not"));
    NarInfo info = NarInfo.parse(nar.narInfo());
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream out = new PipedOutputStream(in);
    Future<?> reading = readers.submit(() -> {
      try (OutputStream o = out) {
        archive.read(nar, 0, nar.length(), o);
      }
      return null;
    });
    try (in) {
      NarObjectVerifier.verify(in, info, OutputStream.nullOutputStream());
      reading.get();
    } catch (ExecutionException e) {
      throw new IOException("reading " + entry.fileKey() + " back from the holders failed: " + e.getCause().getMessage(),
          e.getCause());
    } catch (InterruptedException e) {
      reading.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + entry.fileKey() + " back");
    } catch (IOException e) {
      // A read that failed ends the stream early: name that failure, not the truncation it caused.
      Throwable cause = e;
      if (reading.isDone() && !reading.isCancelled()) {
        try {
          reading.get();
        } catch (ExecutionException failed) {
          cause = failed.getCause();
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      reading.cancel(true);
      throw new IOException("reading " + entry.fileKey() + " back did not verify: " + cause.getMessage(), cause);
    }
  }

  /** Copies (when moving) and deletes the object; both may be repeated after a crash. */
  private void remove(Journal.Entry entry) throws IOException {
    try {
      long size = objects.stat(entry.fileKey()).size();
      if (size != entry.fileSize()) {
        throw new IOException("s3 object " + entry.fileKey() + " is " + size + " bytes now, archived " + entry.fileSize()
            + ": it changed since, not deleting it");
      }
      if (config.mode() == DrainConfig.Mode.MOVE) {
        objects.copyTo(entry.fileKey(), config.toBucket().orElseThrow(), config.storageClass());
      }
    } catch (ObjectNotFoundException gone) {
      // Only a previous drain deletes it, after copying: finish the bookkeeping.
      return;
    }
    objects.delete(entry.fileKey());
  }
}
