package dev.narvault.repair;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.SuspensionScore;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.repair.policy.HolderRules;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A holder's standing as the coordinator sees it, for the answer to its heartbeat: what a
 * volunteer needs to know to keep a holder useful (vetting progress, reputation, what counts)
 * and warnings in words it can act on. Read from the catalog at the time of asking.
 */
final class Standings {
  /** A heartbeat stamped further off the coordinator's clock than this is warned about. */
  static final Duration SKEW_WARNING = Duration.ofSeconds(60);
  /** A store at least this full is warned about. */
  static final double FULL_WARNING = 0.95;

  private final Catalog catalog;
  private final HolderRules rules;
  private final Duration maxSkew;
  private final InstantSource clock;

  Standings(Catalog catalog, HolderRules rules, Duration maxSkew, InstantSource clock) {
    this.catalog = catalog;
    this.rules = rules;
    this.maxSkew = maxSkew;
    this.clock = clock;
  }

  HolderRules rules() {
    return rules;
  }

  HolderMessages.Standing of(HolderId holderId, long clockSkewMillis) throws CatalogException {
    long now = clock.millis();
    HolderRecord h = catalog.holder(holderId)
        .orElseThrow(() -> new CatalogException("holder " + holderId + " vanished from the catalog"));
    List<String> warnings = new ArrayList<>();
    if (Math.abs(clockSkewMillis) >= SKEW_WARNING.toMillis()) {
      warnings.add(String.format(Locale.ROOT, "your clock is %d s %s the coordinator's: messages more than %d s off "
          + "are refused; run an NTP client", Math.abs(clockSkewMillis) / 1000, clockSkewMillis > 0 ? "ahead of"
          : "behind", maxSkew.toSeconds()));
    }
    if (h.capacityBytes() > 0 && h.usedBytes() >= FULL_WARNING * h.capacityBytes()) {
      warnings.add(String.format(Locale.ROOT, "store %.0f%% full: new fragments go elsewhere; raise --capacity if "
          + "the disk has room", 100.0 * h.usedBytes() / h.capacityBytes()));
    }
    if (now - h.reachedMillis() > rules.offlineAfter().toMillis() / 2) {
      warnings.add("the coordinator last reached your endpoint " + h.endpoint() + " "
          + Duration.ofMillis(now - h.reachedMillis()).toMinutes() + " min ago; unreachable for "
          + rules.offlineAfter().toHours() + " h, a holder is offline and its fragments are rebuilt elsewhere");
    }
    if (h.disqualified()) {
      warnings.add("disqualified: audits found data missing or wrong too often; its fragments no longer count");
    } else if (h.suspect()) {
      warnings.add(String.format(Locale.ROOT, "suspect: audits found data missing or wrong (audit score %.3f, "
          + "below %.2f); no new fragments until it recovers", h.audit().value(), AuditScore.SUSPECT_BELOW));
    }
    if (h.suspended()) {
      warnings.add(String.format(Locale.ROOT, "suspended: audits or reads timed out or failed (suspension score "
          + "%.2f, below %.1f); no new fragments until one succeeds", h.suspension().value(),
          SuspensionScore.SUSPENDED_BELOW));
    }
    if (h.exiting()) {
      warnings.add("exiting: its fragments are being moved to other holders");
    }
    if (h.away().away(now)) {
      warnings.add("away until " + java.time.Instant.ofEpochMilli(h.away().untilMillis()) + " (declared): not counted "
          + "offline until then, and given no new fragments; 'narvault holder-away --back' ends it early");
    }
    long toVet = rules.vetting().audits();
    return new HolderMessages.Standing(holderId.value(), rules.state(h, now).toString(), rules.vetted(h, now),
        h.auditsPassed(), toVet, h.registeredMillis() + rules.vetting().period().toMillis(), h.audit().value(),
        h.suspension().value(), catalog.custody().storedFragments(holderId), h.seenAddress(), h.reachedMillis(),
        clockSkewMillis, warnings, h.away().untilMillis(), h.away().allowanceAt(now), now);
  }
}
