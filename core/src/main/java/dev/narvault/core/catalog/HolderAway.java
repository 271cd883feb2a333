package dev.narvault.core.catalog;

import java.time.Duration;

/**
 * A holder's declared absence and what it has left to declare: forgiveness for a weekend away,
 * bounded so that it cannot become a way to hold fragments without keeping them reachable.
 *
 * <p>A holder may say, signed, that it is away until a time at most {@link #MAX_AWAY} ahead. Until
 * then, while it cannot be reached, the coordinator counts it away rather than offline (see the
 * repair daemon's {@code HolderRules}). Away time comes from an allowance of {@link #MAX_AWAY} that
 * refills at {@link #MAX_AWAY} per {@link #REFILL_PERIOD} (a token bucket: a weekend a week is too
 * much, a week a month is not), and an absence ended early gives its unused part back.
 *
 * @param untilMillis the end of the declared absence (0: none declared)
 * @param allowanceMillis away time left at {@code allowanceAtMillis}
 * @param allowanceAtMillis when {@code allowanceMillis} was last computed (refill counts from here)
 */
public record HolderAway(long untilMillis, long allowanceMillis, long allowanceAtMillis) {
  /** The longest absence one declaration may cover, and the most away time saved up. */
  public static final Duration MAX_AWAY = Duration.ofDays(7);
  /** The allowance refills by {@link #MAX_AWAY} over this period. */
  public static final Duration REFILL_PERIOD = Duration.ofDays(30);
  /** A holder that never declared an absence: the whole allowance, nothing declared. */
  public static final HolderAway NONE = new HolderAway(0, MAX_AWAY.toMillis(), 0);

  public HolderAway {
    if (untilMillis < 0 || allowanceMillis < 0 || allowanceMillis > MAX_AWAY.toMillis() || allowanceAtMillis < 0) {
      throw new IllegalArgumentException("away until " + untilMillis + " with allowance " + allowanceMillis
          + " ms at " + allowanceAtMillis + " is out of range");
    }
  }

  /**
   * A row as stored, clamped into range rather than refused: one odd row (edited by hand, or
   * written under other limits) must not stop every reader of the holders.
   */
  public static HolderAway read(long untilMillis, long allowanceMillis, long allowanceAtMillis) {
    return new HolderAway(Math.max(0, untilMillis), Math.clamp(allowanceMillis, 0, MAX_AWAY.toMillis()),
        Math.max(0, allowanceAtMillis));
  }

  /** Declared away at {@code nowMillis}: the absence has not ended. */
  public boolean away(long nowMillis) {
    return nowMillis < untilMillis;
  }

  /** Away time left to declare at {@code nowMillis}, the refill since the last change included. */
  public long allowanceAt(long nowMillis) {
    long elapsed = Math.max(0, nowMillis - allowanceAtMillis);
    double refill = (double) elapsed * MAX_AWAY.toMillis() / REFILL_PERIOD.toMillis();
    return (long) Math.min(MAX_AWAY.toMillis(), allowanceMillis + refill);
  }

  /**
   * This record after a declaration at {@code nowMillis} of an absence until {@code newUntilMillis}
   * (which replaces the current one; {@code newUntilMillis <= nowMillis} ends it now). The unused
   * part of the current absence is given back first.
   *
   * @throws IllegalArgumentException when the absence is longer than {@link #MAX_AWAY} or than the
   *     allowance left, with the numbers in words
   */
  public HolderAway declare(long nowMillis, long newUntilMillis) {
    long refund = Math.max(0, untilMillis - nowMillis);
    long left = Math.min(MAX_AWAY.toMillis(), allowanceAt(nowMillis) + refund);
    if (newUntilMillis <= nowMillis) {
      return new HolderAway(0, left, nowMillis);
    }
    long length = newUntilMillis - nowMillis;
    if (length > MAX_AWAY.toMillis()) {
      throw new IllegalArgumentException("an absence may be declared at most " + MAX_AWAY.toDays() + " days ahead, "
          + "got " + words(length));
    }
    if (length > left) {
      throw new IllegalArgumentException("only " + words(left) + " of away time left (it refills by "
          + MAX_AWAY.toDays() + " days every " + REFILL_PERIOD.toDays() + "), asked for " + words(length));
    }
    return new HolderAway(newUntilMillis, left - length, nowMillis);
  }

  /** A length of time in days, hours and minutes, for messages. */
  static String words(long millis) {
    Duration d = Duration.ofMillis(millis);
    return d.toDays() + "d " + d.toHoursPart() + "h " + d.toMinutesPart() + "min";
  }
}
