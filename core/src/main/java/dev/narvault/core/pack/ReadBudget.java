package dev.narvault.core.pack;

import java.io.InterruptedIOException;
import java.util.concurrent.Semaphore;

/**
 * Bytes that reads may hold in memory at once, shared by every read of a process (the gateway's
 * answer to 200 clients each asking for a gigabyte). A read always gets the memory for its next
 * chunk, waiting if it must; reading further ahead only happens while the budget has room.
 * Counted in KiB, so budgets up to terabytes fit a semaphore.
 */
public final class ReadBudget {
  private static final int UNIT = 1024;

  private final int permits;
  private final Semaphore available;

  public ReadBudget(long bytes) {
    if (bytes < UNIT) {
      throw new IllegalArgumentException("read budget must be at least " + UNIT + " bytes, got " + bytes);
    }
    this.permits = (int) Math.min(Integer.MAX_VALUE, bytes / UNIT);
    this.available = new Semaphore(permits, true);
  }

  /** A budget that never makes a read wait (tests, tools that read one pack at a time). */
  public static ReadBudget unlimited() {
    return new ReadBudget((long) Integer.MAX_VALUE * UNIT);
  }

  /** Takes room for {@code bytes}, waiting for it; a request larger than the budget takes all of it. */
  public long acquire(long bytes) throws InterruptedIOException {
    int n = units(bytes);
    try {
      available.acquire(n);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for read memory");
    }
    return n;
  }

  /** Takes room for {@code bytes} if there is some now; returns the units taken, or 0. */
  public long tryAcquire(long bytes) {
    int n = units(bytes);
    return available.tryAcquire(n) ? n : 0;
  }

  /** Gives back what {@link #acquire} or {@link #tryAcquire} returned. */
  public void release(long units) {
    if (units > 0) {
      available.release((int) units);
    }
  }

  /** The whole budget, in bytes. */
  public long totalBytes() {
    return (long) permits * UNIT;
  }

  private int units(long bytes) {
    return (int) Math.clamp(Math.ceilDiv(bytes, (long) UNIT), 1, permits);
  }
}
