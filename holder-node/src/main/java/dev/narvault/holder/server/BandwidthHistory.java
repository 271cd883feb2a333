package dev.narvault.holder.server;

/**
 * Bytes served per hour over the last day and per day over the last week, for the volunteer's
 * dashboard: fed the running total now and then ({@link #sample}), it adds what was served since
 * the last sample to the hour and the day of now. Fixed memory (24 + 7 buckets).
 */
final class BandwidthHistory {
  static final int HOURS = 24;
  static final int DAYS = 7;
  private static final long HOUR_MILLIS = 3_600_000L;
  private static final long DAY_MILLIS = 24 * HOUR_MILLIS;

  private final long[] hours = new long[HOURS];
  private final long[] hourOf = new long[HOURS];
  private final long[] days = new long[DAYS];
  private final long[] dayOf = new long[DAYS];
  private long lastTotal = -1;

  /** Adds what {@code total} (a running count of bytes served) grew by since the last sample. */
  synchronized void sample(long nowMillis, long total) {
    long delta = lastTotal < 0 ? 0 : Math.max(0, total - lastTotal);
    lastTotal = total;
    add(hours, hourOf, nowMillis / HOUR_MILLIS, delta);
    add(days, dayOf, nowMillis / DAY_MILLIS, delta);
  }

  private static void add(long[] buckets, long[] index, long now, long delta) {
    int slot = (int) Math.floorMod(now, (long) buckets.length);
    if (index[slot] != now) {
      index[slot] = now;
      buckets[slot] = 0;
    }
    buckets[slot] += delta;
  }

  /** Bytes served in each of the last 24 hours, oldest first, the current hour last. */
  synchronized long[] lastHours(long nowMillis) {
    return window(hours, hourOf, nowMillis / HOUR_MILLIS);
  }

  /** Bytes served in each of the last 7 days, oldest first, today last. */
  synchronized long[] lastDays(long nowMillis) {
    return window(days, dayOf, nowMillis / DAY_MILLIS);
  }

  private static long[] window(long[] buckets, long[] index, long now) {
    long[] out = new long[buckets.length];
    for (int i = 0; i < buckets.length; i++) {
      long at = now - (buckets.length - 1 - i);
      int slot = (int) Math.floorMod(at, (long) buckets.length);
      out[i] = index[slot] == at ? buckets[slot] : 0;
    }
    return out;
  }
}
