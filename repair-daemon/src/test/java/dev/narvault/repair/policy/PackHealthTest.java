package dev.narvault.repair.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PackHealthTest {
  /** Pack with k=4, m=2 whose fragment i is on holder "h" + i (plus extra rows). */
  private static List<FragmentPlacement> rows(String packId, FragmentPlacement... extra) {
    List<FragmentPlacement> list = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      list.add(new FragmentPlacement(packId, i, "f" + i, "h" + i, "", FragmentPlacement.STORED));
    }
    list.addAll(List.of(extra));
    return list;
  }

  @Test
  void health_countsDistinctIndexesOnHealthyHolders_only() {
    Set<String> healthy = Set.of("h0", "h1", "h2", "h4", "h9");
    Set<String> live = Set.of("h0", "h1", "h2", "h3", "h4", "h9");
    PackHealth p = PackHealth.of("p", 4, 2, rows("p",
        new FragmentPlacement("p", 0, "f0", "h9", "", FragmentPlacement.STORED), // a second copy of 0
        new FragmentPlacement("p", 5, "f5", "h9", "", FragmentPlacement.CORRUPT)), // not stored
        healthy::contains, live::contains);
    assertEquals(4, p.healthyCount(), "indexes 0,1,2,4; a second copy adds nothing; corrupt rows never count");
    assertEquals(List.of(3, 5), p.missing());
    assertTrue(p.degraded());
    assertTrue(p.recoverable());
    assertTrue(p.movable(), "fragment 3 is readable on a live holder that does not count");
    assertTrue(p.needsRepair(1), "4 < k + 1");
    assertFalse(p.needsRepair(0));
  }

  @Test
  void queue_fewestHealthyFirst_thresholdRespected() {
    Set<String> none = Set.of();
    PackHealth full = PackHealth.of("a-full", 4, 2, rows("a-full"), h -> true, h -> true);
    PackHealth oneDown = PackHealth.of("b-one", 4, 2, rows("b-one"), h -> !h.equals("h0"), h -> !h.equals("h0"));
    PackHealth twoDown = PackHealth.of("c-two", 4, 2, rows("c-two"), h -> !Set.of("h0", "h1").contains(h),
        h -> !Set.of("h0", "h1").contains(h));
    PackHealth lost = PackHealth.of("d-lost", 4, 2, rows("d-lost"), none::contains, none::contains);
    List<PackHealth> q = PackHealth.queue(List.of(full, oneDown, twoDown, lost), -1);
    // Default r = ceil(2/2) = 1: queued below 5 healthy. One down has 5: not queued.
    assertEquals(List.of("d-lost", "c-two"), q.stream().map(PackHealth::packId).toList());
    assertFalse(lost.recoverable());
    assertEquals(List.of("d-lost", "c-two", "b-one"),
        PackHealth.queue(List.of(full, oneDown, twoDown, lost), 2).stream().map(PackHealth::packId).toList());
    assertEquals(2, PackHealth.defaultThreshold(4));
    assertEquals(2, PackHealth.defaultThreshold(3));
  }

  @Test
  void holderRules_offlineSuspectExitingAndVetting() {
    HolderRules rules = new HolderRules(Duration.ofSeconds(60), Duration.ofSeconds(600));
    HolderRecord h = new HolderRecord("h", "http://x:1", Optional.of("k"), 100, 0, 0, "v", "", "", 1_000_000,
        HolderRecord.AUDIT_OK, "192.0.2.1", 0, AuditScore.NEW, HolderRecord.ONLINE, 1_000_000, dev.narvault.core.catalog.SuspensionScore.NEW, 0);
    assertTrue(rules.placeable(h, 1_000_000));
    assertEquals("healthy", rules.state(h, 1_060_000));
    assertEquals("offline", rules.state(h, 1_060_001));
    assertFalse(rules.healthy(h, 1_060_001));
    HolderRecord young = new HolderRecord("h", "http://x:1", Optional.of("k"), 100, 0, 0, "v", "", "", 1_000_000,
        HolderRecord.AUDIT_OK, "192.0.2.1", 999_000, AuditScore.NEW, HolderRecord.ONLINE, 1_000_000, dev.narvault.core.catalog.SuspensionScore.NEW, 0);
    assertTrue(rules.healthy(young, 1_000_000));
    assertFalse(rules.placeable(young, 1_000_000), "still being vetted");
    assertEquals("vetting", rules.state(young, 1_000_000));
    HolderRecord leaving = new HolderRecord("h", "http://x:1", Optional.of("k"), 100, 0, 0, "v", "", "", 1_000_000,
        HolderRecord.AUDIT_OK, "192.0.2.1", 0, AuditScore.NEW, HolderRecord.EXITING, 1_000_000, dev.narvault.core.catalog.SuspensionScore.NEW, 0);
    assertTrue(rules.live(leaving, 1_000_000));
    assertFalse(rules.healthy(leaving, 1_000_000));
    HolderRecord suspect = new HolderRecord("h", "http://x:1", Optional.of("k"), 100, 0, 0, "v", "", "", 1_000_000,
        HolderRecord.AUDIT_SUSPECT, "192.0.2.1", 0, AuditScore.NEW.after(false), HolderRecord.ONLINE, 1_000_000, dev.narvault.core.catalog.SuspensionScore.NEW, 0);
    assertFalse(rules.healthy(suspect, 1_000_000));
    assertEquals("suspect", rules.state(suspect, 1_000_000));
  }

  @Test
  void auditScore_oneFailureMakesSuspect_fivePassesClearIt_andTwoFailuresTakeLonger() {
    AuditScore s = AuditScore.NEW;
    assertFalse(s.suspect());
    s = s.after(false);
    assertTrue(s.suspect());
    int passes = 0;
    while (s.suspect()) {
      s = s.after(true);
      passes++;
    }
    assertEquals(5, passes);
    AuditScore twice = AuditScore.NEW.after(false).after(false);
    int more = 0;
    while (twice.suspect()) {
      twice = twice.after(true);
      more++;
    }
    assertTrue(more > passes, more + " passes after two failures");
  }
}
