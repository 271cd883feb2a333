package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentState;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Holders gone for good ({@code --forget-after}, 30 days): the copies of theirs that no longer
 * count are forgotten, so repair rounds stop looking at their packs, but only while each pack is
 * whole without them; stored copies and copies a pack still needs are kept.
 */
class ForgetGoneHoldersTest {
  private static final Duration FORGET_AFTER = CoordinatorConfig.FORGET_AFTER;

  @TempDir
  Path dir;

  @Test
  void goneForGood_itsSupersededCopiesOfWholePacksAreForgotten_andRepairStopsLookingAtThem() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(1);
      Holder gone = f.holderOf(pack, 2);
      f.silence(gone);
      f.stop(gone);
      f.elapse(CoordinatorFixture.OFFLINE_AFTER.multipliedBy(2));
      assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 2, gone).orElseThrow().state());
      assertEquals(List.of(pack.id()), f.catalog.custody().packsToCheck(List.of(gone.id())));

      // A day short of --forget-after: kept (it may come back, and GC would ask it to delete).
      f.clock.advance(FORGET_AFTER.minusDays(1));
      f.resume(f.holders.stream().filter(h -> h != gone).toArray(Holder[]::new));
      f.coordinator.collector().collectOnce();
      assertTrue(f.row(pack, 2, gone).isPresent());

      f.clock.advance(Duration.ofDays(2));
      f.resume(f.holders.stream().filter(h -> h != gone).toArray(Holder[]::new));
      assertEquals(1, f.coordinator.collector().forgetGoneHolders());
      assertTrue(f.row(pack, 2, gone).isEmpty(), "forgotten");
      assertTrue(f.catalog.custody().packsToCheck(List.of(gone.id())).isEmpty(), "no pack to look at for it");
      assertEquals(1, f.coordinator.metrics().copiesForgotten.sum());
    }
  }

  @Test
  void goneForGood_aCopyAPackStillNeeds_isKept_andStoredCopiesAlways() throws Exception {
    // Three holders of one pack vanish; only two can be rebuilt (one spare holder): the pack is
    // not whole, so the superseded copy and the third's stored copy stay in the catalog.
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(2);
      Holder first = f.holderOf(pack, 0);
      Holder second = f.holderOf(pack, 1);
      f.silence(first);
      f.stop(first);
      f.elapse(CoordinatorFixture.OFFLINE_AFTER.multipliedBy(2));
      assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt(), "the one spare takes index 0");
      f.silence(second);
      f.stop(second);
      f.elapse(CoordinatorFixture.OFFLINE_AFTER.multipliedBy(2));
      assertEquals(0, f.coordinator.repairer().repairOnce().fragmentsRebuilt(), "no holder left to take index 1");

      f.clock.advance(FORGET_AFTER.plusDays(1));
      f.resume(f.holders.stream().filter(h -> h != first && h != second).toArray(Holder[]::new));
      assertEquals(0, f.coordinator.collector().forgetGoneHolders(),
          "the pack is not whole: nothing of the gone holders is forgotten");
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 0, first).orElseThrow().state());
      assertEquals(FragmentState.STORED, f.row(pack, 1, second).orElseThrow().state());
    }
  }

  @Test
  void forgetAfter_shorterThanAnAbsenceOrTwiceOfflineAfter_isRefused() {
    CoordinatorConfig base = new CoordinatorConfig(new java.net.InetSocketAddress("127.0.0.1", 0),
        dev.narvault.core.nix.NixSecretKey.generate("c-1", new java.security.SecureRandom()), List.of(),
        java.util.Optional.empty(), new dev.narvault.repair.policy.HolderRules(Duration.ofDays(5), Duration.ZERO), -1,
        Duration.ZERO, Duration.ZERO, 0, Duration.ofMinutes(5), dir);
    var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> base.withForgetAfter(Duration.ofDays(7)));
    assertTrue(e.getMessage().contains("at least 8 days"), e.getMessage());
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> base.withForgetAfter(Duration.ofDays(9)), "less than twice offline-after (5 days)");
    assertEquals(Duration.ofDays(10), base.withForgetAfter(Duration.ofDays(10)).forgetAfter());
    // A long --offline-after is usable: the default grows with it.
    CoordinatorConfig slow = new CoordinatorConfig(new java.net.InetSocketAddress("127.0.0.1", 0),
        dev.narvault.core.nix.NixSecretKey.generate("c-1", new java.security.SecureRandom()), List.of(),
        java.util.Optional.empty(), new dev.narvault.repair.policy.HolderRules(Duration.ofDays(20), Duration.ZERO), -1,
        Duration.ZERO, Duration.ZERO, 0, Duration.ofMinutes(5), dir);
    assertEquals(Duration.ofDays(40), slow.forgetAfter());
  }
}
