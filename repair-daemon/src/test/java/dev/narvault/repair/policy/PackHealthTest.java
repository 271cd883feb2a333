package dev.narvault.repair.policy;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.AuditState;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.HolderStatus;
import dev.narvault.core.catalog.SuspensionScore;
import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PackHealthTest {
  /** Pack with k=4, m=2 whose fragment i is on holder "h" + i (plus extra rows). */
  private static List<FragmentPlacement> rows(String packId, FragmentPlacement... extra) {
    List<FragmentPlacement> list = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      list.add(new FragmentPlacement(new PackId(packId), i, "f" + i, new HolderId("h" + i), "", FragmentState.STORED));
    }
    list.addAll(List.of(extra));
    return list;
  }

  @Test
  void health_countsDistinctIndexesOnHealthyHolders_only() {
    Set<String> healthy = Set.of("h0", "h1", "h2", "h4", "h9");
    Set<String> live = Set.of("h0", "h1", "h2", "h3", "h4", "h9");
    PackHealth p = PackHealth.of(new PackId("p"), 4, 2, rows("p",
        new FragmentPlacement(new PackId("p"), 0, "f0", new HolderId("h9"), "", FragmentState.STORED), // a second copy of 0
        new FragmentPlacement(new PackId("p"), 5, "f5", new HolderId("h9"), "", FragmentState.CORRUPT)), // not stored
        h -> healthy.contains(h.value()), h -> live.contains(h.value()));
    assertEquals(4, p.healthyCount(), "indexes 0,1,2,4; a second copy adds nothing; corrupt rows never count");
    assertEquals(List.of(3, 5), p.missing());
    assertTrue(p.degraded());
    assertTrue(p.recoverable());
    assertTrue(p.movable(), "fragment 3 is readable on a live holder that does not count");
    assertTrue(p.needsRepair(1), "4 < k + 1");
    assertFalse(p.needsRepair(0));
  }

  /** Holders by name: live ones, excused ones (away, not live), the rest gone. */
  private static PackHealth.Holders holders(Set<String> live, Set<String> excused) {
    return new PackHealth.Holders() {
      @Override
      public boolean healthy(HolderId holderId) {
        return live.contains(holderId.value());
      }

      @Override
      public boolean live(HolderId holderId) {
        return live.contains(holderId.value());
      }

      @Override
      public boolean excused(HolderId holderId) {
        return excused.contains(holderId.value());
      }

      @Override
      public FailureDomain domain(HolderId holderId) {
        // Each holder in a network of its own: "h7" in 10.7/16, any other name in 10.200/16.
        String n = holderId.value().matches("h[0-9]+") ? holderId.value().substring(1) : "200";
        return FailureDomain.of(holderId, "10." + n + ".0.1", "");
      }
    };
  }

  /** RS(8,16): margin max(2, ⌈8/2⌉) = 4 and cap 16/8 = 2: excuses hold while 12 of 24 are counted live. */
  private static List<FragmentPlacement> wide(String packId) {
    List<FragmentPlacement> list = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      list.add(new FragmentPlacement(new PackId(packId), i, "f" + i, new HolderId("h" + i), "", FragmentState.STORED));
    }
    return list;
  }

  private static Set<String> names(int from, int to) {
    Set<String> s = new java.util.HashSet<>();
    for (int i = from; i < to; i++) {
      s.add("h" + i);
    }
    return s;
  }

  private static PackHealth wideHealth(int liveCount, int excusedCount) {
    return PackHealth.of(new PackId("p"), 8, 16, wide("p"), holders(names(0, liveCount),
        names(liveCount, liveCount + excusedCount)), DomainLimits.DEFAULT);
  }

  @Test
  void health_excusedCopies_countUpToTheCapWhileTheMarginHolds_andAreNeverReadable() {
    assertEquals(4, PackHealth.excuseMargin(16));
    assertEquals(10, PackHealth.excuseMargin(40));
    assertEquals(5, PackHealth.excuseCap(40));
    assertEquals(1, PackHealth.excuseCap(10));
    assertEquals(0, PackHealth.excuseCap(4));
    assertEquals(2, PackHealth.excuseMargin(4), "at least 2: r = 2, so RS(k,4) never excuses");
    assertEquals(3, PackHealth.excuseMargin(10));

    PackHealth twoAway = wideHealth(22, 2);
    assertTrue(twoAway.whole(), "two away, the cap: both excused");
    assertEquals(2, twoAway.excused().cardinality());
    assertEquals(22, twoAway.readable().cardinality(), "an away copy is never read");
    assertFalse(twoAway.movable());
    assertTrue(PackHealth.queue(List.of(twoAway), 8).isEmpty());

    PackHealth threeAway = wideHealth(21, 3);
    assertEquals(23, threeAway.healthyCount(), "beyond the cap: the third counts as missing");
    assertEquals(List.of(23), threeAway.missing());

    PackHealth marginHeld = wideHealth(12, 12);
    assertEquals(14, marginHeld.healthyCount(), "12 live = k + margin: two excused");
    PackHealth marginBroken = wideHealth(11, 13);
    assertEquals(11, marginBroken.healthyCount(), "11 live < k + margin: none excused, all 13 missing");
    assertTrue(marginBroken.excused().isEmpty());
    assertEquals(13, marginBroken.missing().size());
  }

  @Test
  void health_anExcusedCopyNeverDisplacesALiveOneOfTheSameIndex() {
    // Index 0 has a copy on an away holder (sorted first) and one on a live holder: the live one counts.
    List<FragmentPlacement> rows = wide("p");
    rows.add(new FragmentPlacement(new PackId("p"), 0, "f0", new HolderId("a-away"), "", FragmentState.STORED));
    PackHealth p = PackHealth.of(new PackId("p"), 8, 16, rows, holders(names(0, 24), Set.of("a-away")),
        DomainLimits.DEFAULT);
    assertTrue(p.whole());
    assertTrue(p.excused().isEmpty(), "every index counted on a live holder");
  }

  @Test
  void queue_fewestHealthyFirst_thresholdRespected() {
    Set<String> none = Set.of();
    PackHealth full = PackHealth.of(new PackId("a-full"), 4, 2, rows("a-full"), h -> true, h -> true);
    PackHealth oneDown = PackHealth.of(new PackId("b-one"), 4, 2, rows("b-one"), h -> !h.value().equals("h0"), h -> !h.value().equals("h0"));
    PackHealth twoDown = PackHealth.of(new PackId("c-two"), 4, 2, rows("c-two"), h -> !Set.of("h0", "h1").contains(h.value()),
        h -> !Set.of("h0", "h1").contains(h.value()));
    PackHealth lost = PackHealth.of(new PackId("d-lost"), 4, 2, rows("d-lost"), h -> none.contains(h.value()), h -> none.contains(h.value()));
    List<PackHealth> q = PackHealth.queue(List.of(full, oneDown, twoDown, lost), -1);
    // Default r = ceil(2/2) = 1: queued below 5 healthy. One down has 5: not queued.
    assertEquals(List.of("d-lost", "c-two"), q.stream().map(p -> p.packId().hex()).toList());
    assertFalse(lost.recoverable());
    assertEquals(List.of("d-lost", "c-two", "b-one"),
        PackHealth.queue(List.of(full, oneDown, twoDown, lost), 2).stream().map(p -> p.packId().hex()).toList());
    assertEquals(2, PackHealth.defaultThreshold(4));
    assertEquals(2, PackHealth.defaultThreshold(3));
  }

  private static HolderRecord holder(AuditState auditState, AuditScore audit, HolderStatus state, long lastSeen,
      long reached, SuspensionScore suspension, long registered, long auditsPassed, String address) {
    return new HolderRecord(new HolderId("h"), "http://x:1", Optional.of("k"), 100, 0, 0, "v", "", "", lastSeen, auditState, address,
        registered, audit, state, reached, suspension, auditsPassed, dev.narvault.core.catalog.HolderAway.NONE);
  }

  private static HolderRecord ok(long lastSeen, long reached) {
    return holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, lastSeen, reached, SuspensionScore.NEW,
        0, 1000, "192.0.2.1");
  }

  @Test
  void holderRules_liveMeansHeardAndReached() {
    HolderRules rules = new HolderRules(Duration.ofSeconds(60), HolderRules.Vetting.NONE);
    HolderRecord h = ok(1_000_000, 1_000_000);
    assertTrue(rules.placeable(h, 1_000_000));
    assertEquals(HolderState.HEALTHY, rules.state(h, 1_060_000));
    assertEquals(HolderState.OFFLINE, rules.state(h, 1_060_001));
    HolderRecord heartbeatsOnly = ok(2_000_000, 1_000_000);
    assertTrue(rules.heard(heartbeatsOnly, 2_000_000));
    assertFalse(rules.live(heartbeatsOnly, 2_000_000), "heartbeats, but not reached for 1000 s");
    assertFalse(rules.healthy(heartbeatsOnly, 2_000_000));
    assertEquals(HolderState.UNREACHABLE, rules.state(heartbeatsOnly, 2_000_000));
  }

  @Test
  void holderRules_suspicionStopsPlacementOnly_disqualificationStopsCounting() {
    HolderRules rules = new HolderRules(Duration.ofSeconds(60), HolderRules.Vetting.NONE);
    HolderRecord suspect = holder(AuditState.SUSPECT, AuditScore.NEW, HolderStatus.ONLINE, 1_000_000,
        1_000_000, SuspensionScore.NEW, 0, 1000, "192.0.2.1");
    assertTrue(rules.healthy(suspect, 1_000_000), "a suspect holder's fragments still count");
    assertFalse(rules.placeable(suspect, 1_000_000));
    assertEquals(HolderState.SUSPECT, rules.state(suspect, 1_000_000));
    SuspensionScore troubled = SuspensionScore.NEW;
    for (int i = 0; i < 60; i++) {
      troubled = troubled.after(false);
    }
    HolderRecord suspended = holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, 1_000_000, 1_000_000,
        troubled, 0, 1000, "192.0.2.1");
    assertTrue(suspended.suspended());
    assertTrue(rules.healthy(suspended, 1_000_000));
    assertFalse(rules.placeable(suspended, 1_000_000));
    assertEquals(HolderState.SUSPENDED, rules.state(suspended, 1_000_000));
    HolderRecord dq = holder(AuditState.DISQUALIFIED, AuditScore.NEW, HolderStatus.ONLINE, 1_000_000, 1_000_000,
        SuspensionScore.NEW, 0, 1000, "192.0.2.1");
    assertFalse(rules.healthy(dq, 1_000_000));
    assertTrue(rules.live(dq, 1_000_000), "still readable");
    assertEquals(HolderState.DISQUALIFIED, rules.state(dq, 1_000_000));
    HolderRecord leaving = holder(AuditState.OK, AuditScore.NEW, HolderStatus.EXITING, 1_000_000, 1_000_000,
        SuspensionScore.NEW, 0, 1000, "192.0.2.1");
    assertFalse(rules.healthy(leaving, 1_000_000));
    assertEquals(HolderState.EXITING, rules.state(leaving, 1_000_000));
    HolderRecord unproven = holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, 1_000_000, 1_000_000,
        SuspensionScore.NEW, 0, 1000, "");
    assertFalse(rules.placeable(unproven, 1_000_000), "no proven address, no placement");
  }

  @Test
  void holderStates_printTheWordsMetricsAndListingsShow() {
    assertEquals(List.of("away", "offline", "unreachable", "exiting", "disqualified", "suspect", "suspended", "vetting",
        "healthy"), Arrays.stream(HolderState.values()).map(HolderState::label).toList());
    for (HolderState s : HolderState.values()) {
      assertEquals(s.label(), s.toString());
    }
  }

  @Test
  void holderRules_vettingNeedsAuditsAndTime() {
    HolderRules rules = new HolderRules(Duration.ofDays(2), new HolderRules.Vetting(100, Duration.ofDays(3), 1));
    long day = Duration.ofDays(1).toMillis();
    HolderRecord young = holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, 10 * day, 10 * day,
        SuspensionScore.NEW, 9 * day, 500, "192.0.2.1");
    assertFalse(rules.vetted(young, 10 * day), "one day old");
    assertTrue(rules.placeable(young, 10 * day), "placeable, within the unvetted share");
    assertEquals(HolderState.VETTING, rules.state(young, 10 * day));
    HolderRecord untested = holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, 10 * day, 10 * day,
        SuspensionScore.NEW, 0, 99, "192.0.2.1");
    assertFalse(rules.vetted(untested, 10 * day), "99 audits");
    HolderRecord vetted = holder(AuditState.OK, AuditScore.NEW, HolderStatus.ONLINE, 10 * day, 10 * day,
        SuspensionScore.NEW, 0, 100, "192.0.2.1");
    assertTrue(rules.vetted(vetted, 10 * day));
  }

  @Test
  void health_countsAtMostTheDomainLimitPerWiderNetwork() {
    // RS(4,4): at most 2 per /16. Holders h0..h5 in one /16 (a stranger), h6, h7 elsewhere.
    List<FragmentPlacement> rows = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      rows.add(new FragmentPlacement(new PackId("p"), i, "f" + i, new HolderId("h" + i), "", FragmentState.STORED));
    }
    PackHealth.Holders holders = new PackHealth.Holders() {
      @Override
      public boolean healthy(HolderId id) {
        return true;
      }

      @Override
      public boolean live(HolderId id) {
        return true;
      }

      @Override
      public FailureDomain domain(HolderId id) {
        int i = Integer.parseInt(id.value().substring(1));
        return FailureDomain.of(id, i < 6 ? "127.0." + (i + 1) + ".1" : "127." + i + ".0.1", "");
      }
    };
    PackHealth p = PackHealth.of(new PackId("p"), 4, 4, rows, holders, DomainLimits.DEFAULT);
    assertEquals(4, p.healthyCount(), "2 from the crowded /16 and the 2 elsewhere");
    assertEquals(8, p.readable().cardinality(), "all of them still readable");
    assertTrue(p.movable(), "the crowded ones are moved by copy");
    assertFalse(p.whole());
  }

  @Test
  void health_supersededAndUnverifiedCopiesAreReadableButDoNotCount() {
    List<FragmentPlacement> rows = rows("p",
        new FragmentPlacement(new PackId("p"), 0, "f0", new HolderId("h8"), "", FragmentState.SUPERSEDED));
    rows.set(1, new FragmentPlacement(new PackId("p"), 1, "f1", new HolderId("h1"), "", FragmentState.UNVERIFIED));
    Set<String> up = Set.of("h1", "h2", "h3", "h4", "h5", "h8");
    PackHealth p = PackHealth.of(new PackId("p"), 4, 2, rows, h -> up.contains(h.value()), h -> up.contains(h.value()));
    assertEquals(List.of(0, 1), p.missing());
    assertTrue(p.readable().get(0) && p.readable().get(1));
    assertTrue(p.movable());
  }

  @Test
  void auditScore_forgivesHonestMistakes_andDisqualifiesOnlyAPersistentLiar() {
    AuditScore s = AuditScore.NEW.after(false);
    assertFalse(s.suspect(), "one failed audit is not suspicion");
    int failures = 1;
    while (!s.suspect()) {
      s = s.after(false);
      failures++;
    }
    assertTrue(failures >= 9 && failures <= 11, failures + " failures in a row to suspicion");
    while (!s.disqualifying()) {
      s = s.after(false);
      failures++;
    }
    assertTrue(failures >= 40 && failures <= 45, failures + " failures in a row to disqualification");
    AuditScore recovering = AuditScore.NEW;
    for (int i = 0; i < 12; i++) {
      recovering = recovering.after(false);
    }
    assertTrue(recovering.suspect());
    int passes = 0;
    while (recovering.suspect()) {
      recovering = recovering.after(true);
      passes++;
    }
    assertTrue(passes < 2000, "a suspect holder that passes again climbs back (" + passes + " passes)");
  }

  @Test
  void suspensionScore_recoversWhenAnswersSucceedAgain() {
    SuspensionScore s = SuspensionScore.NEW;
    int misses = 0;
    while (!s.suspended()) {
      s = s.after(false);
      misses++;
    }
    assertTrue(misses > 30, misses + " unanswered in a row before suspension: a weekend of 502s is not it");
    int answers = 0;
    while (s.suspended()) {
      s = s.after(true);
      answers++;
    }
    assertTrue(answers < 200, answers + " answers to recover");
  }
}
