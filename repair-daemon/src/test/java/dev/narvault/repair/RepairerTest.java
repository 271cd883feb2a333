package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentState;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Repair rounds driven by hand on a fake clock, over real holders. */
class RepairerTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());

  @TempDir
  Path dir;

  @Test
  void repairOnce_holderThatHeartbeatsButCannotBeReached_isRebuiltElsewhereAfterOfflineAfter() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(1);
      Holder spare = f.without(pack).getFirst();
      Holder lost = f.holderOf(pack, 2);
      // The machine is gone but something keeps sending its signed heartbeats.
      f.stop(lost);

      f.elapse(OFFLINE_AFTER);
      assertTrue(f.rules.heard(f.record(lost), f.clock.millis()));
      Repairer.Round early = f.coordinator.repairer().repairOnce();
      assertEquals(0, early.queued(), "still within --offline-after: " + early);

      f.elapse(Duration.ofMillis(1));
      assertTrue(f.rules.heard(f.record(lost), f.clock.millis()), "it still heartbeats");
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(1, round.fragmentsRebuilt(), round.toString());
      assertEquals(spare, f.holderOf(pack, 2), "rebuilt on the one holder without a copy");
      assertTrue(spare.has(pack.fragmentId(2)), "and really stored there");
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 2, lost).orElseThrow().state());
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(0, f.coordinator.repairer().queue().size());
    }
  }

  @Test
  void repairOnce_fewerHoldersThanTheCodeNeeds_commitsWhatItPlaces_andDoesNotReadAgainWhenNothingMoreFits()
      throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(2);
      Holder spare = f.without(pack).getFirst();
      Holder lost4 = f.holderOf(pack, 4);
      Holder lost5 = f.holderOf(pack, 5);
      f.silence(lost4, lost5);
      f.elapse(OFFLINE_AFTER.plusMillis(1));

      int opensBefore = f.opens();
      Repairer.Round partial = f.coordinator.repairer().repairOnce();
      assertEquals(1, partial.fragmentsRebuilt(), "room for one of two: placed and committed " + partial);
      assertEquals(spare, f.holderOf(pack, 4));
      assertTrue(spare.has(pack.fragmentId(4)));
      assertEquals(TOTAL - 1, f.counted(pack).size());
      assertTrue(f.opens() - opensBefore >= CoordinatorFixture.DATA, "decoding read k fragments");

      // Nothing more can be placed: the next rounds ask first and read nothing.
      int opens = f.opens();
      long bytesRead = f.coordinator.metrics().repairBytesRead.sum();
      for (int i = 0; i < 3; i++) {
        Repairer.Round idle = f.coordinator.repairer().repairOnce();
        assertEquals(1, idle.queued(), "still not whole: " + idle);
        assertEquals(0, idle.fragmentsRebuilt(), idle.toString());
      }
      assertEquals(opens, f.opens(), "no holder served a byte");
      assertEquals(bytesRead, f.coordinator.metrics().repairBytesRead.sum());

      // A holder joins: the last fragment goes there.
      Holder joined = f.addHolder();
      Repairer.Round last = f.coordinator.repairer().repairOnce();
      assertEquals(1, last.fragmentsRebuilt(), last.toString());
      assertEquals(joined, f.holderOf(pack, 5));
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @Test
  void repairOnce_holdersReturningAfterTheirReplacementsLeft_haveTheirCopiesRevivedAfterAnAudit() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 2)) {
      Pack pack = f.placePack(3);
      Holder away0 = f.holderOf(pack, 0);
      Holder away1 = f.holderOf(pack, 1);
      f.silence(away0, away1);
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      assertEquals(2, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
      Holder replacement0 = f.holderOf(pack, 0);
      Holder replacement1 = f.holderOf(pack, 1);

      // The replacements leave; the old holders come back, their copies superseded but intact.
      f.silence(replacement0, replacement1);
      f.resume(away0, away1);
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      assertEquals(TOTAL - 2, f.counted(pack).size());
      assertEquals(0, f.coordinator.collector().collectOnce(), "returning copies are custody while the pack is not whole");
      assertTrue(away0.has(pack.fragmentId(0)) && away1.has(pack.fragmentId(1)));

      int opens = f.opens();
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(0, round.fragmentsRebuilt(), "revived, not rebuilt: " + round);
      assertEquals(0, round.queued(), "whole again before anything was queued: " + round);
      assertEquals(2, f.opens() - opens, "one audited block read from each returning copy");
      assertEquals(List.of(true), f.catalog.auditResults(away0.id()));
      assertEquals(List.of(true), f.catalog.auditResults(away1.id()));
      assertEquals(away0, f.holderOf(pack, 0));
      assertEquals(away1, f.holderOf(pack, 1));
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 0, replacement0).orElseThrow().state());
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(2, f.coordinator.metrics().copiesRevived.sum());
    }
  }
}
