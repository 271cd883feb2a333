package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.PARITY;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.AuditState;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Audits tell proof of loss from honest trouble: a volunteer's broken reverse proxy is the latter. */
class AuditorTest {
  /** Audit rounds the test allows for a holder answering 502 to become suspended (about 51 by the score). */
  private static final int MAX_ROUNDS = 200;

  @TempDir
  Path dir;

  @Test
  void auditOnce_reverseProxyAnswering502_lowersSuspensionNotTheAuditScore_andTheHolderRecoversOnceFixed()
      throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL - 1)) {
      Holder proxied = f.addHolderBehindProxy();
      Pack pack = f.placePack(21);
      FragmentPlacement copy = f.catalog.placements(pack.id()).stream()
          .filter(p -> p.holderId().equals(proxied.id())).findFirst().orElseThrow();
      Auditor auditor = f.coordinator.auditor();
      assertEquals(0, auditor.auditOnce(), "every holder passes while the proxy works");
      assertEquals(List.of(true), f.catalog.auditResults(proxied.id()));

      proxied.proxy.orElseThrow().answerBadGateway(true);
      assertEquals(Auditor.Outcome.TROUBLE, auditor.audit(f.record(proxied), copy), "a 502 to the block read");
      int rounds = 0;
      while (!f.record(proxied).suspended() && rounds < MAX_ROUNDS) {
        assertEquals(0, auditor.auditOnce(), "a 502 fails no audit");
        rounds++;
      }
      HolderRecord suspended = f.record(proxied);
      assertTrue(suspended.suspended(), "suspended after " + rounds + " rounds: " + suspended.suspension());
      assertTrue(proxied.proxy.orElseThrow().badGatewayAnswers.get() > rounds, "every round met the 502");
      assertEquals(1.0, suspended.audit().value(), 1e-9, "the audit score never moved");
      assertEquals(AuditState.OK, suspended.auditState());
      assertFalse(suspended.disqualified());
      assertEquals(List.of(true), f.catalog.auditResults(proxied.id()), "no audit result recorded for the 502s");
      assertEquals(FragmentState.STORED, f.row(pack, copy.fragmentIndex(), proxied).orElseThrow().state());
      assertTrue(f.rules.healthy(suspended, f.clock.millis()), "its fragment still counts");
      assertEquals(IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet()), f.counted(pack));
      assertFalse(f.rules.placeable(suspended, f.clock.millis()), "but it gets no new fragments");
      assertEquals(TOTAL - 1, placeable(f));

      proxied.proxy.orElseThrow().answerBadGateway(false);
      assertEquals(0, auditor.auditOnce());
      HolderRecord recovered = f.record(proxied);
      assertFalse(recovered.suspended(), "answers again: " + recovered.suspension());
      assertEquals(List.of(true, true), f.catalog.auditResults(proxied.id()));
      assertTrue(f.rules.placeable(recovered, f.clock.millis()));
      assertEquals(TOTAL, placeable(f), "placeable again");
    }
  }

  @Test
  void auditOnce_vanishedHolders_areWaitedForTogether_notOneAfterAnother() throws Exception {
    // Four holders vanish behind their proxies: connections accepted, never answered, until the
    // proof's 10-s timeout. Audited one after the other they cost a round 40 s (with 1 % of 10^4
    // holders gone, 1000 s); audited together, one timeout.
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL - 4)) {
      List<Holder> gone = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        gone.add(f.addHolderBehindProxy());
      }
      f.placePack(31);
      for (Holder h : gone) {
        h.proxy.orElseThrow().hang(true);
      }
      var round = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return f.coordinator.auditor().auditOnce();
        } catch (Exception e) {
          throw new java.util.concurrent.CompletionException(e);
        }
      });
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(8); // under the 10-s timeout
      int most = 0;
      while (most < gone.size() && System.nanoTime() < deadline) {
        most = Math.max(most, gone.stream().mapToInt(h -> h.proxy.orElseThrow().hanging.get()).sum());
        Thread.sleep(5);
      }
      assertEquals(gone.size(), most, "every vanished holder's proof hanging at once");
      for (Holder h : gone) {
        h.proxy.orElseThrow().hang(false); // their connections drop: the proofs fail now
      }
      assertEquals(0, round.get(30, java.util.concurrent.TimeUnit.SECONDS), "no audit failed: the gone are trouble");
      for (Holder h : gone) {
        assertTrue(f.record(h).suspension().value() < 1.0, "each gone holder's proof failed: " + h.id());
      }
    }
  }

  /** How many fragments of a new pack the coordinator could place now, one per holder. */
  private static int placeable(CoordinatorFixture f) throws Exception {
    return f.coordinator.placements().placeableCount(PARITY, TOTAL, 1000, Set.of(), Set.of());
  }
}
