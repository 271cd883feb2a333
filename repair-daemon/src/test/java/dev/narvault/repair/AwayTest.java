package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.HolderState;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forgiveness ({@code POST /v1/away}) with real holders: a declared absence is not counted offline,
 * within bounds that keep every pack safe. The fixture's code is RS(4,2): the excuse margin is 1,
 * so a pack excuses absent copies only while 5 of its 6 fragments are counted on live holders.
 */
class AwayTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());
  private static final Duration HOUR = Duration.ofHours(1);

  @TempDir
  Path dir;

  @Test
  void away_declaredAndGone_isNotRebuiltUntilTheAbsenceEnds_thenIsRebuiltLikeAnyOfflineHolder() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(1);
      Holder gone = f.holderOf(pack, 0);
      Holder spare = f.without(pack).getFirst();
      assertEquals(200, f.away(gone, f.clock.millis() + HOUR.toMillis()));
      f.silence(gone);
      f.stop(gone);

      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      long now = f.clock.millis();
      assertFalse(f.rules.live(f.record(gone), now), "gone quiet long ago");
      assertEquals(HolderState.AWAY, f.rules.state(f.record(gone), now));
      int opensBefore = f.opens();
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(0, round.queued(), "excused: the pack keeps 5 live fragments: " + round);
      assertEquals(1L, f.coordinator.metrics().holdersByState().get("away"));
      assertEquals(0, f.coordinator.collector().collectOnce(), "nothing to collect, and an away copy is no reason to");
      f.coordinator.auditor().auditOnce();
      assertEquals(opensBefore + TOTAL - 1, f.opens(), "the live holders were audited, the absent one left alone");
      assertTrue(f.row(pack, 0, gone).orElseThrow().stored());

      // The absence ends and the holder is not back: offline at once, rebuilt like any other.
      f.elapse(HOUR);
      assertEquals(HolderState.OFFLINE, f.rules.state(f.record(gone), f.clock.millis()));
      Repairer.Round after = f.coordinator.repairer().repairOnce();
      assertEquals(1, after.fragmentsRebuilt(), after.toString());
      assertEquals(spare, f.holderOf(pack, 0));
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @Test
  void away_moreAbsentCopiesThanThePacksMargin_areRebuiltAnyway() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 2)) {
      Pack pack = f.placePack(2);
      Holder first = f.holderOf(pack, 0);
      Holder second = f.holderOf(pack, 1);
      long until = f.clock.millis() + Duration.ofDays(3).toMillis();
      assertEquals(200, f.away(first, until));
      assertEquals(200, f.away(second, until));
      f.silence(first, second);
      f.stop(first);
      f.stop(second);

      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      // Two absent of six leaves 4 = k live: no slack at all. Both are rebuilt, absences or not.
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(2, round.fragmentsRebuilt(), round.toString());
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 0, first).orElseThrow().state());
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 1, second).orElseThrow().state());
    }
  }

  @Test
  void away_aLiveHoldersLossDuringAnAbsence_opensTheMarginAndRepairsEveryMissingIndex() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 2)) {
      Pack pack = f.placePack(3);
      Holder absent = f.holderOf(pack, 0);
      Holder failing = f.holderOf(pack, 1);
      assertEquals(200, f.away(absent, f.clock.millis() + Duration.ofDays(2).toMillis()));
      f.silence(absent);
      f.stop(absent);
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      assertEquals(0, f.coordinator.repairer().repairOnce().queued());

      // A holder that declared nothing dies: 4 live, below k + margin: the excuse no longer holds.
      f.silence(failing);
      f.stop(failing);
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(2, round.fragmentsRebuilt(), round.toString());
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @Test
  void away_holderComesBack_isProvenAgainWithNoSuspensionForTheAbsence() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Holder h = f.addHolderBehindProxy();
      Pack pack = f.placePack(4);
      double suspensionBefore = f.record(h).suspension().value();
      assertEquals(200, f.away(h, f.clock.millis() + Duration.ofDays(1).toMillis()));
      f.silence(h);
      h.proxy.orElseThrow().answerBadGateway(true); // its router is off: nobody reaches it
      for (int i = 0; i < 8; i++) {
        f.elapse(OFFLINE_AFTER.dividedBy(2));
        f.coordinator.auditor().auditOnce();
      }
      assertEquals(HolderState.AWAY, f.rules.state(f.record(h), f.clock.millis()));
      // Within the first --offline-after it still counted as reached and was proven and audited:
      // those attempts failed, and were not held against it either.
      assertEquals(suspensionBefore, f.record(h).suspension().value(), 1e-9);

      h.proxy.orElseThrow().answerBadGateway(false);
      f.resume(h);
      assertTrue(f.rules.live(f.record(h), f.clock.millis()), "back: proven again by its heartbeat");
      assertEquals(200, f.away(h, 0), "and it says so");
      assertNotEquals(HolderState.AWAY, f.rules.state(f.record(h), f.clock.millis()));
      assertEquals(0, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @Test
  void away_holderAboutToLeave_receivesNoNewFragments() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Holder leaving = f.holders.getLast();
      assertEquals(200, f.away(leaving, f.clock.millis() + Duration.ofDays(2).toMillis()));
      for (int seed = 10; seed < 14; seed++) {
        Pack pack = f.placePack(seed);
        List<FragmentPlacement> rows = f.catalog.placements(pack.id());
        assertTrue(rows.stream().noneMatch(r -> r.holderId().equals(leaving.id())),
            "a holder that declared an absence is given nothing it would take away with it");
      }
    }
  }

  @Test
  void away_refusals_sayWhy_andChangeNothing() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 2)) {
      Holder h = f.holders.getFirst();
      Holder other = f.holders.getLast();
      long now = f.clock.millis();
      assertEquals(409, f.away(h, now + Duration.ofDays(7).toMillis() + 1), "more than 7 days ahead");
      assertEquals(401, f.away(h, now + HOUR.toMillis(), other.identity), "signed by another holder's key");
      NixSecretKey stranger = NixSecretKey.generate("narvault-holder", new SecureRandom());
      assertEquals(401, f.away(h, now + HOUR.toMillis(), stranger));
      assertEquals(0, f.record(h).away().untilMillis(), "nothing recorded");

      // A holder already unreachable cannot excuse itself after the fact.
      f.silence(other);
      f.stop(other);
      f.elapse(OFFLINE_AFTER.plusMinutes(1));
      assertEquals(409, f.away(other, f.clock.millis() + HOUR.toMillis()));
      assertEquals(HolderState.OFFLINE, f.rules.state(f.record(other), f.clock.millis()));
    }
  }

  @Test
  void away_unvettedHolder_isRefused() throws Exception {
    HolderRules vetting = new HolderRules(OFFLINE_AFTER, new HolderRules.Vetting(100, Duration.ofDays(3), 1));
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 1, vetting)) {
      Holder h = f.holders.getFirst();
      assertEquals(409, f.away(h, f.clock.millis() + HOUR.toMillis()), "a new holder shows it stays first");
      assertEquals(0, f.record(h).away().untilMillis());
      assertEquals(200, f.away(h, 0), "saying it is back is always accepted");
    }
  }

  @Test
  void away_replayedMessage_isRefused() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 1)) {
      Holder h = f.holders.getFirst();
      long until = f.clock.millis() + HOUR.toMillis();
      assertEquals(200, f.away(h, until));
      assertEquals(200, f.away(h, 0));
      // The absence, captured and sent again after the holder said it was back: refused.
      assertEquals(409, f.replayAway(h, f.awaySent.getFirst()));
      assertEquals(0, f.record(h).away().untilMillis(), "the replayed absence was not recorded");
    }
  }
}
