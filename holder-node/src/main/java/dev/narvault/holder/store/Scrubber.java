package dev.narvault.holder.store;

import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads every stored fragment at a set pace and recomputes its id from its bytes. Paced, a
 * pass reads at the least speed that finishes it within {@value #PASS_SHARE_PERCENT}% of the
 * interval between passes (never slower than {@link #MIN_BYTES_PER_SECOND}, never faster than the
 * cap): a small holder's disk is barely touched, a big one is still scrubbed once per interval. A fragment
 * whose bytes no longer match (bit rot, a bad disk, someone editing files) is quarantined and
 * reported, so repair can rebuild it elsewhere. A holder never serves it again. After each pass,
 * quarantined fragments older than {@link #QUARANTINE_KEPT} are deleted (their space returns).
 */
public final class Scrubber {
  private static final Logger LOG = LoggerFactory.getLogger(Scrubber.class);
  private static final int CHUNK = 64 * 1024;
  /** How long a corrupt fragment is kept aside for inspection before its space is freed. */
  public static final Duration QUARANTINE_KEPT = Duration.ofDays(7);

  private final FragmentStore store;
  /** Share of the interval a paced pass is given: the rest is slack for a busy disk. */
  static final int PASS_SHARE_PERCENT = 80;
  /** The slowest pace: below it a pass is quick anyway. */
  public static final long MIN_BYTES_PER_SECOND = 256 * 1024;

  private final long bytesPerSecond;
  private final Duration passWithin;
  private final Consumer<FragmentId> onCorrupt;
  private final LongAdder scrubbed;

  /**
   * @param scrubbed counts bytes re-hashed, for metrics
   * @param onCorrupt told of each fragment quarantined (e.g. to report it to the coordinator)
   */
  public Scrubber(FragmentStore store, long bytesPerSecond, LongAdder scrubbed, Consumer<FragmentId> onCorrupt) {
    this(store, bytesPerSecond, Duration.ZERO, scrubbed, onCorrupt);
  }

  /**
   * @param maxBytesPerSecond the fastest a pass may read
   * @param passWithin the interval between passes, to pace each pass by; zero: always at the cap
   */
  public Scrubber(FragmentStore store, long maxBytesPerSecond, Duration passWithin, LongAdder scrubbed,
      Consumer<FragmentId> onCorrupt) {
    if (maxBytesPerSecond < 1) {
      throw new IllegalArgumentException("scrub speed must be >= 1 byte/s, got " + maxBytesPerSecond);
    }
    if (passWithin.isNegative()) {
      throw new IllegalArgumentException("the interval to pace a scrub pass by must be >= 0, got " + passWithin);
    }
    this.store = store;
    this.bytesPerSecond = maxBytesPerSecond;
    this.passWithin = passWithin;
    this.scrubbed = scrubbed;
    this.onCorrupt = onCorrupt;
  }

  /** One pass over every fragment; returns how many were found corrupt. */
  public int scrubOnce() throws InterruptedException {
    long rate = passWithin.isZero() ? bytesPerSecond : pacedRate(store.usedBytes(), passWithin, bytesPerSecond);
    int corrupt = 0;
    long started = System.nanoTime();
    long bytes = 0;
    for (FragmentId id : listQuietly()) {
      try {
        Optional<FileChannel> opened = store.open(id);
        if (opened.isEmpty()) {
          continue;
        }
        boolean ok;
        try (FileChannel file = opened.get()) {
          FragmentHasher hasher = new FragmentHasher(store.blockSize(id));
          ByteBuffer buf = ByteBuffer.allocate(CHUNK);
          long position = 0;
          int n;
          while ((n = file.read(buf.clear(), position)) > 0) {
            hasher.update(buf.array(), 0, n);
            position += n;
            bytes += n;
            scrubbed.add(n);
            pace(started, bytes, rate);
          }
          ok = position > 0 && hasher.finish().id().equals(id);
        }
        if (!ok) {
          corrupt++;
          LOG.warn("scrub: fragment {} does not match its id", id);
          store.quarantine(id);
          onCorrupt.accept(id);
        }
      } catch (IOException e) {
        LOG.warn("scrub: cannot check fragment {}: {}", id, e.getMessage());
      }
    }
    try {
      int purged = store.purgeQuarantine(Instant.now().minus(QUARANTINE_KEPT));
      if (purged > 0) {
        LOG.info("scrub: deleted {} fragments quarantined more than {} ago", purged, QUARANTINE_KEPT);
      }
    } catch (IOException e) {
      LOG.warn("scrub: cannot purge the quarantine: {}", e.getMessage());
    }
    return corrupt;
  }

  private List<FragmentId> listQuietly() {
    try {
      return store.list();
    } catch (IOException e) {
      LOG.warn("scrub: cannot list fragments: {}", e.getMessage());
      return List.of();
    }
  }

  /**
   * The pace of a pass over {@code bytes} to finish within {@value #PASS_SHARE_PERCENT}% of
   * {@code interval}: at least {@link #MIN_BYTES_PER_SECOND}, at most {@code maxBytesPerSecond}.
   */
  static long pacedRate(long bytes, Duration interval, long maxBytesPerSecond) {
    long seconds = Math.max(1, interval.toSeconds() * PASS_SHARE_PERCENT / 100);
    long rate = Math.max(MIN_BYTES_PER_SECOND, (bytes + seconds - 1) / seconds);
    return Math.min(rate, maxBytesPerSecond);
  }

  /** Sleeps as needed so that {@code bytes} since {@code started} stay within {@code rate}. */
  private static void pace(long started, long bytes, long rate) throws InterruptedException {
    long dueNanos = (long) (bytes * 1e9 / rate);
    long aheadNanos = dueNanos - (System.nanoTime() - started);
    if (aheadNanos > 1_000_000) {
      Thread.sleep(aheadNanos / 1_000_000, (int) (aheadNanos % 1_000_000));
    }
  }
}
