package dev.narvault.repair.policy;

import dev.narvault.core.catalog.HolderAway;
import dev.narvault.core.catalog.HolderRecord;
import java.time.Duration;

/**
 * Which holders count, from their catalog rows and the time.
 *
 * <ul>
 *   <li><b>live</b>: heard from (a signed heartbeat) <em>and</em> reached at its endpoint (an
 *       answered proof or audit) within {@code offlineAfter}. A holder that heartbeats but cannot
 *       be reached is offline: its fragments are erasures. A suspended holder is reached only
 *       by serving data (a passed audit, a delete), not by proofs: one that answers proofs and
 *       fails every read goes offline too.
 *   <li><b>healthy</b>: live, not disqualified, not leaving. Its fragments count towards a pack's
 *       health. A suspect or suspended holder is still healthy: suspicion stops new placements
 *       first, and fragments move off only a holder that is disqualified, leaving or gone.
 *   <li><b>excused</b>: not live, but within an absence it declared ({@link HolderAway}, at most 7
 *       days, from an allowance), and in good standing. Its stored copies may
 *       still count towards a pack's health, so that a weekend away does not set off repair, but
 *       only within {@link PackHealth}'s margin, and they are never read: it is not live.
 *       Nothing that destroys or relies on data (garbage collection, the drain, placement) counts
 *       an excused holder.
 *   <li><b>trusted</b>: healthy, not suspect, not suspended, not away: what garbage collection counts
 *       before it deletes a copy.
 *   <li><b>placeable</b>: trusted, its endpoint proven.
 *   <li><b>vetted</b>: has passed {@link Vetting#audits} audits and been registered for
 *       {@link Vetting#period}. An unvetted holder receives at most {@link Vetting#maxPerPack}
 *       fragments of any pack (so it can be audited and earn its standing).
 * </ul>
 *
 * @param offlineAfter silence or unreachability after which a holder is offline
 * @param vetting how a new holder earns full trust
 */
public record HolderRules(Duration offlineAfter, Vetting vetting) {
  /**
   * Vetting of new holders.
   *
   * @param audits audits passed before a holder is vetted (Storj vets with about 100)
   * @param period time since first registration before it is vetted
   * @param maxPerPack fragments of one pack that unvetted holders may hold together
   */
  public record Vetting(int audits, Duration period, int maxPerPack) {
    /** Default vetting: 100 audits passed over at least 3 days, one fragment of a pack meanwhile. */
    public static final Vetting DEFAULT = new Vetting(100, Duration.ofDays(3), 1);
    /** No vetting: every holder is trusted at once (development and tests on one machine). */
    public static final Vetting NONE = new Vetting(0, Duration.ZERO, 1);

    public Vetting {
      if (audits > 0 && maxPerPack < 1) {
        throw new IllegalArgumentException("with vetting on (" + audits + " audits), unvetted holders need at least "
            + "1 fragment of a pack: they earn vetting by passing audits on what they hold, got " + maxPerPack);
      }
      if (audits < 0 || period.isNegative() || maxPerPack < 0) {
        throw new IllegalArgumentException("vetting needs audits >= 0, period >= 0 and a share >= 0, got " + audits
            + ", " + period + ", " + maxPerPack);
      }
    }
  }

  public HolderRules {
    if (offlineAfter.isNegative() || offlineAfter.isZero()) {
      throw new IllegalArgumentException("offline-after must be positive, got " + offlineAfter);
    }
  }

  /** Rules with a vetting period only (no audit count): the old form, kept for the simulator. */
  public HolderRules(Duration offlineAfter, Duration vettingPeriod) {
    this(offlineAfter, new Vetting(0, vettingPeriod, Integer.MAX_VALUE));
  }

  /** Heard from within {@code offlineAfter}, whether or not reachable. */
  public boolean heard(HolderRecord h, long nowMillis) {
    return nowMillis - h.lastSeenMillis() <= offlineAfter.toMillis();
  }

  public boolean live(HolderRecord h, long nowMillis) {
    return heard(h, nowMillis) && nowMillis - h.reachedMillis() <= offlineAfter.toMillis();
  }

  public boolean healthy(HolderRecord h, long nowMillis) {
    return live(h, nowMillis) && !h.disqualified() && !h.exiting();
  }

  /** Within an absence it declared, whether or not it can be reached now. */
  public boolean away(HolderRecord h, long nowMillis) {
    return h.away().away(nowMillis);
  }

  /**
   * Not live, but away by its own word, and in good standing (neither disqualified, leaving,
   * suspect nor suspended: a holder with evidence against it is not given the benefit of the
   * doubt): its stored copies may count towards health within {@link PackHealth}'s margin (never
   * read, never counted by garbage collection or the drain).
   */
  public boolean excused(HolderRecord h, long nowMillis) {
    return !live(h, nowMillis) && away(h, nowMillis) && !h.disqualified() && !h.exiting() && !h.suspect()
        && !h.suspended();
  }

  /**
   * Why a holder may not declare an absence now (empty: it may): only a live holder in good
   * standing that has earned trust (vetted) may; a new or doubted one proves it stays first.
   */
  public java.util.Optional<String> awayRefusal(HolderRecord h, long nowMillis) {
    if (!live(h, nowMillis)) {
      return java.util.Optional.of("the coordinator has not reached this holder within --offline-after: declare an "
          + "absence while it is up and reachable");
    }
    if (h.exiting() || h.disqualified() || h.suspect() || h.suspended()) {
      return java.util.Optional.of("only a holder in good standing may declare an absence (this one is "
          + state(h, nowMillis) + ")");
    }
    if (!vetted(h, nowMillis)) {
      return java.util.Optional.of("only a vetted holder may declare an absence: a new holder shows it stays first");
    }
    return java.util.Optional.empty();
  }

  /**
   * Healthy and neither suspect nor suspended: a holder whose copies garbage collection may
   * count when it decides a pack is whole without another copy. Stricter than {@link #healthy}
   * (which repair uses, so that suspicion alone moves nothing), as the drain is: a delete is the
   * step that cannot be undone, so it counts only holders in good standing, and none that said it
   * is about to go away.
   */
  public boolean trusted(HolderRecord h, long nowMillis) {
    return healthy(h, nowMillis) && !h.suspect() && !h.suspended() && !away(h, nowMillis);
  }

  /** Trusted, its endpoint proven, and not about to be away (new copies would go dark at once). */
  public boolean placeable(HolderRecord h, long nowMillis) {
    return trusted(h, nowMillis) && !h.seenAddress().isEmpty();
  }

  public boolean vetted(HolderRecord h, long nowMillis) {
    return h.auditsPassed() >= vetting.audits() && nowMillis - h.registeredMillis() >= vetting.period().toMillis();
  }

  /**
   * A holder's state for metrics and listings: away, offline, unreachable (heartbeats, cannot be
   * reached), exiting, disqualified, suspect, suspended, vetting or healthy ({@link HolderState}).
   */
  public HolderState state(HolderRecord h, long nowMillis) {
    if (excused(h, nowMillis)) {
      return HolderState.AWAY;
    }
    if (!heard(h, nowMillis)) {
      return HolderState.OFFLINE;
    }
    if (!live(h, nowMillis)) {
      return HolderState.UNREACHABLE;
    }
    if (h.exiting()) {
      return HolderState.EXITING;
    }
    if (h.disqualified()) {
      return HolderState.DISQUALIFIED;
    }
    if (h.suspect()) {
      return HolderState.SUSPECT;
    }
    if (h.suspended()) {
      return HolderState.SUSPENDED;
    }
    return vetted(h, nowMillis) ? HolderState.HEALTHY : HolderState.VETTING;
  }
}
