package dev.narvault.repair;

import java.io.InterruptedIOException;

/**
 * A cap on repair traffic: a token bucket of bytes per second with one second of burst. Callers
 * take the bytes before moving them and wait when the bucket is empty. Zero means no cap.
 */
final class Bandwidth {
  private final long bytesPerSecond;
  private double tokens;
  private long lastNanos = System.nanoTime();

  Bandwidth(long bytesPerSecond) {
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException("repair speed must be >= 0 (0 = no cap), got " + bytesPerSecond);
    }
    this.bytesPerSecond = bytesPerSecond;
    this.tokens = bytesPerSecond;
  }

  void take(long bytes) throws InterruptedIOException {
    if (bytesPerSecond == 0) {
      return;
    }
    long waitNanos;
    synchronized (this) {
      long now = System.nanoTime();
      tokens = Math.min(bytesPerSecond, tokens + (now - lastNanos) / 1e9 * bytesPerSecond);
      lastNanos = now;
      tokens -= bytes;
      waitNanos = tokens >= 0 ? 0 : (long) (-tokens / bytesPerSecond * 1e9);
    }
    if (waitNanos > 0) {
      try {
        Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while pacing repair");
      }
    }
  }
}
