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
 * Re-reads every stored fragment at a set pace and recomputes its id from its bytes. A fragment
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
  private final long bytesPerSecond;
  private final Consumer<FragmentId> onCorrupt;
  private final LongAdder scrubbed;

  /**
   * @param scrubbed counts bytes re-hashed, for metrics
   * @param onCorrupt told of each fragment quarantined (e.g. to report it to the coordinator)
   */
  public Scrubber(FragmentStore store, long bytesPerSecond, LongAdder scrubbed, Consumer<FragmentId> onCorrupt) {
    if (bytesPerSecond < 1) {
      throw new IllegalArgumentException("scrub speed must be >= 1 byte/s, got " + bytesPerSecond);
    }
    this.store = store;
    this.bytesPerSecond = bytesPerSecond;
    this.scrubbed = scrubbed;
    this.onCorrupt = onCorrupt;
  }

  /** One pass over every fragment; returns how many were found corrupt. */
  public int scrubOnce() throws InterruptedException {
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
            pace(started, bytes);
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

  /** Sleeps as needed so that {@code bytes} since {@code started} stay within the pace. */
  private void pace(long started, long bytes) throws InterruptedException {
    long dueNanos = (long) (bytes * 1e9 / bytesPerSecond);
    long aheadNanos = dueNanos - (System.nanoTime() - started);
    if (aheadNanos > 1_000_000) {
      Thread.sleep(aheadNanos / 1_000_000, (int) (aheadNanos % 1_000_000));
    }
  }
}
