package dev.narvault.encoder;

import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.regex.Pattern;

/**
 * The bucket's {@code <hash>.narinfo} keys, in key order, as they are listed: a thread pages
 * through the listing into a bounded queue, so memory stays at {@value #AHEAD} keys whatever the
 * bucket holds (≈ 3 × 10^8 narinfos for cache.nixos.org). Close it to stop the listing early.
 */
final class NarInfoListing implements Iterator<String>, AutoCloseable {
  static final Pattern NARINFO_KEY = Pattern.compile("[0-9a-df-np-sv-z]{32}\\.narinfo");
  static final int AHEAD = 10_000;
  private static final String END = "";

  private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(AHEAD);
  private final Thread lister;
  private volatile IOException failure;
  private volatile long listed;
  private String next;

  NarInfoListing(ObjectSource objects) {
    lister = Thread.ofVirtual().name("narinfo-listing").start(() -> {
      try {
        objects.list("", o -> {
          if (NARINFO_KEY.matcher(o.key()).matches()) {
            put(o.key());
            listed++;
          }
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

  /** narinfo keys listed so far. */
  long listed() {
    return listed;
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
      throw new ListingFailedException(failure);
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

  /** The bucket listing failed part way; the run stops with the cause. */
  static final class ListingFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ListingFailedException(IOException cause) {
      super(cause.getMessage(), cause);
    }

    IOException io() {
      return (IOException) getCause();
    }
  }
}
