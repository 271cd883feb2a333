package dev.narvault.core.access;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.CommitOutcomeUnknownException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's record of the archived NARs it serves, so that "requested lately" stays true
 * after the drain (a drained NAR's requests no longer reach S3's logs, and a CDN's logs may not be
 * imported). {@link #record} only counts in memory and never waits for the catalog; a flush
 * writes what was counted as one batch ({@link AccessRecords#record}), every {@code every} when
 * {@linkplain #start started}, and at {@link #close}.
 *
 * <p>Bounded: at most {@code maxPending} distinct store hashes (per day) wait; past that, requests
 * are dropped and counted ({@link #dropped()}). While the catalog is down, a batch that was not
 * applied waits for the next flush within the same bound; one whose outcome is unknown (the
 * connection broke at the commit) is not written again, so nothing is counted twice.
 */
public final class AccessRecorder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AccessRecorder.class);
  public static final int DEFAULT_MAX_PENDING = 100_000;
  public static final Duration DEFAULT_EVERY = Duration.ofSeconds(1);

  private final AccessRecords records;
  private final InstantSource clock;
  private final int maxPending;
  private final ScheduledExecutorService flusher;
  /** Guarded by this. */
  private AccessRecords.Batch pending = new AccessRecords.Batch();
  /** Requests in {@link #pending}; guarded by this. */
  private long pendingRequests;
  private final LongAdder written = new LongAdder();
  private final LongAdder dropped = new LongAdder();
  private final LongAdder failures = new LongAdder();
  /** One flush at a time (the timer's and close's). */
  private final Object flushing = new Object();

  private AccessRecorder(AccessRecords records, InstantSource clock, int maxPending,
      ScheduledExecutorService flusher) {
    if (maxPending < 1) {
      throw new IllegalArgumentException("maxPending must be >= 1, got " + maxPending);
    }
    this.records = records;
    this.clock = clock;
    this.maxPending = maxPending;
    this.flusher = flusher;
  }

  /** A recorder that writes only when {@link #flush} is called (tests, with a fake clock). */
  public static AccessRecorder manual(AccessRecords records, InstantSource clock, int maxPending) {
    return new AccessRecorder(records, clock, maxPending, null);
  }

  /** A recorder that flushes every {@code every} on a daemon thread of its own. */
  public static AccessRecorder start(AccessRecords records, InstantSource clock, int maxPending, Duration every) {
    ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "narvault-access-records");
      t.setDaemon(true);
      return t;
    });
    AccessRecorder recorder = new AccessRecorder(records, clock, maxPending, flusher);
    flusher.scheduleWithFixedDelay(recorder::flushQuietly, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
    return recorder;
  }

  /** Counts one request for an archived NAR's store hash, now. Never blocks on the catalog. */
  public void record(String storeHash) {
    long now = clock.millis();
    synchronized (this) {
      if (pending.size() >= maxPending) {
        dropped.increment();
        return;
      }
      pending.add(storeHash, now);
      pendingRequests++;
    }
  }

  /** Writes what was counted since the last flush; what the catalog did not take waits for the next. */
  public void flush() {
    synchronized (flushing) {
      AccessRecords.Batch batch;
      long requests;
      synchronized (this) {
        if (pending.isEmpty()) {
          return;
        }
        batch = pending;
        requests = pendingRequests;
        pending = new AccessRecords.Batch();
        pendingRequests = 0;
      }
      try {
        records.record(batch);
        written.add(requests);
      } catch (CommitOutcomeUnknownException e) {
        failures.increment();
        LOG.warn("access records: the catalog may or may not have taken {} requests ({}); not written again",
            requests, e.getMessage());
      } catch (CatalogException | RuntimeException e) {
        failures.increment();
        synchronized (this) {
          if (pending.size() + batch.size() <= maxPending) {
            pending.addAll(batch);
            pendingRequests += requests;
            LOG.warn("access records: the catalog did not take {} requests ({}); trying again", requests,
                e.getMessage());
          } else {
            dropped.add(requests);
            LOG.warn("access records: the catalog did not take {} requests ({}); dropped, too many waiting",
                requests, e.getMessage());
          }
        }
      }
    }
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException | Error e) {
      LOG.warn("access records: flush failed: {}", e.toString());
    }
  }

  /** Requests written to the catalog. */
  public long written() {
    return written.sum();
  }

  /** Requests dropped (too many waiting). */
  public long dropped() {
    return dropped.sum();
  }

  /** Flushes that failed. */
  public long failures() {
    return failures.sum();
  }

  /** Stops the timer and flushes what is left (once). */
  @Override
  public void close() {
    if (flusher != null) {
      flusher.shutdownNow();
      try {
        flusher.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    flush();
  }
}
