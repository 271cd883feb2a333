package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
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
 * within bounds that keep every pack safe. The code here is RS(4,8), repaired eagerly: a pack
 * excuses one absent copy (the cap, ⌊8/8⌋), and only while 6 of its 12 fragments (k + the margin
 * of 2) are counted on live holders. (The fixture's usual RS(4,2) has no slack to lend: it never
 * excuses.)
 */
class AwayTest {
  private static final int DATA = 4;
  private static final int PARITY = 8;
  private static final int TOTAL = DATA + PARITY;
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());
  private static final Duration HOUR = Duration.ofHours(1);

  private CoordinatorFixture fixture(int holders) throws java.io.IOException {
    return new CoordinatorFixture(dir, holders, new HolderRules(OFFLINE_AFTER, Duration.ZERO), DATA, PARITY);
  }

  @TempDir
  Path dir;

  @Test
  void away_declaredAndGone_isNotRebuiltUntilTheAbsenceEnds_thenIsRebuiltLikeAnyOfflineHolder() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL + 1)) {
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
      assertEquals(0, round.queued(), "excused: the pack keeps 11 live fragments: " + round);
      assertEquals(1L, f.coordinator.metrics().holdersByState().get("away"));
      assertEquals(1, f.coordinator.metrics().fragmentsExcused.get(), "one fragment counted only by an absent copy");
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
  void away_moreAbsentCopiesThanThePacksCap_areRebuiltAnyway() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL + 2)) {
      Pack pack = f.placePack(2);
      long until = f.clock.millis() + Duration.ofDays(3).toMillis();
      List<Holder> absent = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Holder h = f.holderOf(pack, i);
        assertEquals(200, f.away(h, until));
        absent.add(h);
      }
      for (Holder h : absent) {
        f.silence(h);
        f.stop(h);
      }

      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      // Three absent of twelve: one is excused (the cap), the other two are rebuilt.
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(2, round.fragmentsRebuilt(), round.toString());
      assertEquals(FragmentState.STORED, f.row(pack, 0, absent.get(0)).orElseThrow().state(), "the excused one");
      for (int i = 1; i < 3; i++) {
        assertEquals(FragmentState.SUPERSEDED, f.row(pack, i, absent.get(i)).orElseThrow().state());
      }
      assertEquals(0, f.coordinator.repairer().repairOnce().queued(), "whole, counting the excused copy");
    }
  }

  @Test
  void away_liveHoldersLostDuringAnAbsence_breakTheMarginAndEveryMissingIndexIsRebuilt() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL + 7)) {
      Pack pack = f.placePack(3);
      Holder absent = f.holderOf(pack, 0);
      assertEquals(200, f.away(absent, f.clock.millis() + Duration.ofDays(2).toMillis()));
      f.silence(absent);
      f.stop(absent);
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      assertEquals(0, f.coordinator.repairer().repairOnce().queued(), "1 away, 11 live: excused");

      // Six holders that declared nothing die at once: 5 live, below k + 2: the excuse no longer holds.
      for (int i = 1; i <= 6; i++) {
        Holder dead = f.holderOf(pack, i);
        f.silence(dead);
        f.stop(dead);
      }
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(7, round.fragmentsRebuilt(), round.toString());
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 0, absent).orElseThrow().state());
    }
  }

  @Test
  void away_holderComesBack_isProvenAgainWithNoSuspensionForTheAbsence() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL)) {
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
      // Audited while its last heartbeat was recent (twice), then left alone: eight failures would
      // have cost it 0.07 of its score.
      assertFalse(f.record(h).suspended());
      assertTrue(f.record(h).suspension().value() > suspensionBefore - 0.03,
          "the absence was not held against it: " + f.record(h).suspension());

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
  void away_declaredButUpAndFailingReads_isSuspendedNotExcused_andItsFragmentIsRebuilt() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL)) {
      Holder h = f.addHolderBehindProxy();
      Pack pack = f.placePack(6);
      java.util.Optional<FragmentPlacement> mine = f.catalog.placements(pack.id()).stream()
          .filter(p -> p.holderId().equals(h.id())).findFirst();
      org.junit.jupiter.api.Assumptions.assumeTrue(mine.isPresent(), "placement chose the other holders");
      assertEquals(200, f.away(h, f.clock.millis() + Duration.ofDays(5).toMillis()));
      // It keeps heartbeating (it is up) but its reverse proxy answers 502 to everything: up and
      // failing is not away. Audits and proofs count against it until it is suspended.
      h.proxy.orElseThrow().answerBadGateway(true);
      for (int i = 0; i < 120 && !f.record(h).suspended(); i++) {
        f.clock.advance(Duration.ofSeconds(30));
        f.heartbeat(h);
        f.coordinator.auditor().auditOnce();
      }
      assertTrue(f.record(h).suspended(), "suspended: " + f.record(h).suspension());
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      assertFalse(f.rules.excused(f.record(h), f.clock.millis()), "a suspended holder is not excused");
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(1, round.fragmentsRebuilt(), round.toString());
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, mine.get().fragmentIndex(), h).orElseThrow().state());
    }
  }

  @Test
  void away_holderAboutToLeave_receivesNoNewFragments() throws Exception {
    try (CoordinatorFixture f = fixture(TOTAL + 1)) {
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
  void away_aCodeWithoutSlack_neverExcuses() throws Exception {
    // RS(4,2): cap 0 (and margin 2 > r): an absent copy is rebuilt like any silent one.
    try (CoordinatorFixture f = new CoordinatorFixture(dir, CoordinatorFixture.TOTAL + 1)) {
      Pack pack = f.placePack(5);
      Holder gone = f.holderOf(pack, 0);
      assertEquals(200, f.away(gone, f.clock.millis() + Duration.ofDays(1).toMillis()), "declared all the same");
      f.silence(gone);
      f.stop(gone);
      f.elapse(OFFLINE_AFTER.multipliedBy(2));
      assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
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
