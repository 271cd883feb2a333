package dev.narvault.core.archive;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What reads have lately learned about each holder, shared by all requests of a process: a holder
 * that failed (refused, timed out, sent bad bytes, or was read around for being slow) is not asked
 * again until its back-off passes, so a dead holder costs one request per back-off, not one per
 * request. The back-off doubles with each failure in a row, from {@code base} up to {@code max};
 * one success forgets the failures. Each holder's recent speed is kept too, so that decoding reads
 * the fastest, and so is the number of this process's reads in flight to it: a holder's link is
 * shared by all of them (a volunteer caps its upload as a whole), so a read's time is measured per
 * read in flight, and what a new read may expect is that times the reads it joins. Memory is
 * bounded: the least recently used holders are forgotten first.
 */
public final class HolderHealth {
  private static final int MAX_HOLDERS = 100_000;
  /** Weight of the newest sample in the speed average. */
  private static final double LATENCY_WEIGHT = 0.2;
  /** Reads smaller than this are timed as if they were this big. */
  static final long SPEED_FLOOR_BYTES = 64 * 1024;

  private final long baseNanos;
  private final long maxNanos;
  private final LongSupplier nanoTime;
  private final Map<String, State> holders = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, State> eldest) {
      return size() > MAX_HOLDERS;
    }
  };

  private static final class State {
    int failures;
    long avoidUntil;
    double millisPerMiB = Double.NaN;
    int inFlight;
  }

  public HolderHealth(java.time.Duration base, java.time.Duration max, LongSupplier nanoTime) {
    if (base.isNegative() || base.isZero() || max.compareTo(base) < 0) {
      throw new IllegalArgumentException("need 0 < base <= max, got " + base + ", " + max);
    }
    this.baseNanos = base.toNanos();
    this.maxNanos = max.toNanos();
    this.nanoTime = nanoTime;
  }

  /** Back-off from 10 s, doubling up to 5 min. */
  public static HolderHealth withDefaults() {
    return new HolderHealth(java.time.Duration.ofSeconds(10), java.time.Duration.ofMinutes(5), System::nanoTime);
  }

  /** False while the holder is backing off after failures. */
  public synchronized boolean usable(String endpoint) {
    State s = holders.get(endpoint);
    return s == null || s.failures == 0 || nanoTime.getAsLong() - s.avoidUntil >= 0;
  }

  /**
   * True when a request may go to this holder now. When its back-off has just passed, the first
   * caller gets to probe it and others keep away for another base back-off, so a holder that is
   * still dead is not asked by every request at once.
   */
  public synchronized boolean tryUse(String endpoint) {
    State s = holders.get(endpoint);
    if (s == null || s.failures == 0) {
      return true;
    }
    long now = nanoTime.getAsLong();
    if (now - s.avoidUntil < 0) {
      return false;
    }
    s.avoidUntil = now + baseNanos;
    return true;
  }

  /**
   * Records a failure. The back-off starts now; when it passes, the next request to this holder
   * is a probe: a success clears it, a failure doubles the back-off.
   */
  public synchronized void failed(String endpoint) {
    State s = holders.computeIfAbsent(endpoint, e -> new State());
    s.failures = Math.min(s.failures + 1, 62);
    long backoff = baseNanos;
    for (int i = 1; i < s.failures && backoff < maxNanos; i++) {
      backoff *= 2;
    }
    s.avoidUntil = nanoTime.getAsLong() + Math.min(backoff, maxNanos);
  }

  /** A read to this holder starts; returns the reads in flight to it now, this one included. */
  public synchronized int begin(String endpoint) {
    return ++holders.computeIfAbsent(endpoint, e -> new State()).inFlight;
  }

  /** A read that {@link #begin} counted has ended, however it ended. */
  public synchronized void end(String endpoint) {
    State s = holders.get(endpoint);
    if (s != null && s.inFlight > 0) {
      s.inFlight--;
    }
  }

  /** This process's reads in flight to the holder. */
  public synchronized int inFlight(String endpoint) {
    State s = holders.get(endpoint);
    return s == null ? 0 : s.inFlight;
  }

  /**
   * Records an answer of {@code bytes} bytes and how long it took. The holder's speed is kept as
   * an average time per MiB; reads under {@value #SPEED_FLOOR_BYTES} bytes count as that many
   * (their time is mostly the round trip, which a small read pays in full).
   */
  public synchronized void answered(String endpoint, long nanos, long bytes) {
    answered(endpoint, nanos, bytes, 1);
  }

  /**
   * As above, for a read that shared the holder with others: {@code sharing} reads in flight on
   * average while it ran (itself included), so the holder's own speed was that many times its.
   */
  public synchronized void answered(String endpoint, long nanos, long bytes, double sharing) {
    State s = holders.computeIfAbsent(endpoint, e -> new State());
    s.failures = 0;
    double millisPerMiB = nanos / 1e6 * (1 << 20) / Math.max(bytes, SPEED_FLOOR_BYTES) / Math.max(1, sharing);
    s.millisPerMiB = Double.isNaN(s.millisPerMiB) ? millisPerMiB
        : (1 - LATENCY_WEIGHT) * s.millisPerMiB + LATENCY_WEIGHT * millisPerMiB;
  }

  /**
   * How long a read of {@code bytes} bytes from this holder may take now, in ms: its recent time
   * per MiB times the reads it would share the holder with; NaN when never measured.
   */
  public synchronized double expectedMillis(String endpoint, long bytes) {
    State s = holders.get(endpoint);
    if (s == null) {
      return Double.NaN;
    }
    return s.millisPerMiB * Math.max(bytes, SPEED_FLOOR_BYTES) / (1 << 20) * (s.inFlight + 1);
  }

  /** Recent time per MiB read from this holder alone, in ms, averaged; NaN when never measured. */
  public synchronized double millisPerMiB(String endpoint) {
    State s = holders.get(endpoint);
    return s == null ? Double.NaN : s.millisPerMiB;
  }

  /** Holders currently backing off (for metrics). */
  public synchronized int avoided() {
    long now = nanoTime.getAsLong();
    int n = 0;
    for (State s : holders.values()) {
      if (s.failures > 0 && now - s.avoidUntil < 0) {
        n++;
      }
    }
    return n;
  }
}
