package dev.narvault.encoder.input;

import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * The bucket's {@code <hash>.narinfo} keys of one {@link Shard}, in key order, as they are
 * listed: a thread pages through the listing into a bounded queue, so memory stays at
 * {@value #AHEAD} keys whatever the bucket holds (≈ 3 × 10^8 narinfos for cache.nixos.org).
 * Close it to stop the listing early.
 *
 * <p>Only the top of the bucket is listed ({@link ObjectSource#listTopLevel}): the NARs under
 * {@code nar/} are never paged through. The listing starts after the shard's start, or after
 * {@code resumeAfter} (a checkpoint) when that is further, and stops at the shard's end.
 */
public final class NarInfoListing implements NarInfoKeys {
  static final int AHEAD = 10_000;
  private static final String END = "";

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(AHEAD);
  private final Thread lister;
  private final String startAfter;
  private volatile IOException failure;
  private String next;

  /**
   * Starts listing.
   *
   * @param resumeAfter a key this run lists after (a saved checkpoint), if any
   */
  public NarInfoListing(ObjectSource objects, Shard shard, Optional<String> resumeAfter) {
    String start = shard.startAfter();
    this.startAfter = resumeAfter.filter(r -> r.compareTo(start) > 0).orElse(start);
    lister = Thread.ofVirtual().name("narinfo-listing").start(() -> {
      try {
        objects.listTopLevel(startAfter, o -> {
          if (shard.isPast(o.key())) {
            return false;
          }
          if (NARINFO_KEY.matcher(o.key()).matches()) {
            put(o.key());
          }
          return true;
        });
      } catch (IOException e) {
        failure = e;
      } catch (StoppedException e) {
        return;
      }
      try {
        queue.put(END);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  /** The key the listing started after ({@code ""}: the first). */
  public String startAfter() {
    return startAfter;
  }

  private void put(String key) {
    try {
      queue.put(key);
    } catch (InterruptedException e) {
      throw new StoppedException();
    }
  }

  @Override
  public boolean hasNext() {
    if (next == null) {
      try {
        next = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while listing", e);
      }
    }
    if (next.equals(END) && failure != null) {
      throw new InputFailedException(failure);
    }
    return !next.equals(END);
  }

  @Override
  public String next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    String key = next;
    next = null;
    return key;
  }

  @Override
  public void close() {
    lister.interrupt();
  }

  /** The listing thread was asked to stop. */
  private static final class StoppedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }
}
