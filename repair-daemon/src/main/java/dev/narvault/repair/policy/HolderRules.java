package dev.narvault.repair.policy;

import dev.narvault.core.catalog.HolderRecord;
import java.time.Duration;

/**
 * Which holders count, from their catalog rows and the time.
 *
 * <ul>
 *   <li><b>live</b>: heard from within {@code offlineAfter}. An offline holder's fragments are erasures.
 *   <li><b>healthy</b>: live, not suspect (audit score), not leaving. Only fragments on healthy
 *       holders count towards a pack's health.
 *   <li><b>placeable</b>: healthy, and registered at least {@code vettingPeriod} ago, so a new
 *       holder proves it stays before it is trusted with data.
 * </ul>
 *
 * @param offlineAfter silence after which a holder is offline
 * @param vettingPeriod how long a new holder waits before it receives fragments
 */
public record HolderRules(Duration offlineAfter, Duration vettingPeriod) {
  public HolderRules {
    if (offlineAfter.isNegative() || offlineAfter.isZero()) {
      throw new IllegalArgumentException("offline-after must be positive, got " + offlineAfter);
    }
    if (vettingPeriod.isNegative()) {
      throw new IllegalArgumentException("vetting period must be >= 0, got " + vettingPeriod);
    }
  }

  public boolean live(HolderRecord h, long nowMillis) {
    return nowMillis - h.lastSeenMillis() <= offlineAfter.toMillis();
  }

  public boolean healthy(HolderRecord h, long nowMillis) {
    return live(h, nowMillis) && !h.suspect() && !h.exiting();
  }

  public boolean placeable(HolderRecord h, long nowMillis) {
    return healthy(h, nowMillis) && nowMillis - h.registeredMillis() >= vettingPeriod.toMillis();
  }

  /** A holder's state for metrics and listings: offline, exiting, suspect, vetting or healthy. */
  public String state(HolderRecord h, long nowMillis) {
    if (!live(h, nowMillis)) {
      return "offline";
    }
    if (h.exiting()) {
      return "exiting";
    }
    if (h.suspect()) {
      return "suspect";
    }
    return placeable(h, nowMillis) ? "healthy" : "vetting";
  }
}
