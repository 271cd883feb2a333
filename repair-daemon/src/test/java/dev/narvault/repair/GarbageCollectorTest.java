package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Forgotten;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.pack.SignedTombstone;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection deletes what nobody needs, and nothing a pack still needs: a surplus copy
 * goes only when its pack is whole without it, judged again right before each DELETE, and the
 * placement orders of a pack a worker is still placing are never collected.
 */
class GarbageCollectorTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());

  @TempDir
  Path dir;

  /** Holder {@code away} goes silent, its fragment is rebuilt elsewhere, and it comes back with its old copy. */
  private static Holder supersede(CoordinatorFixture f, Pack pack, int index) throws IOException {
    Holder away = f.holderOf(pack, index);
    f.silence(away);
    f.elapse(OFFLINE_AFTER.plusMillis(1));
    assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
    f.resume(away);
    assertEquals(FragmentState.SUPERSEDED, f.row(pack, index, away).orElseThrow().state());
    return away;
  }

  @Test
  void collectOnce_surplusCopyOfAWholePack_isDeleted() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(11);
      Holder returned = supersede(f, pack, 3);
      assertEquals(WHOLE, f.counted(pack));

      assertEquals(1, f.coordinator.collector().collectOnce());
      assertFalse(returned.has(pack.fragmentId(3)), "deleted with a signed order");
      assertTrue(f.row(pack, 3, returned).isEmpty(), "and forgotten by the catalog");
      assertEquals(TOTAL, f.catalog.placements(pack.id()).size());
      for (int i = 0; i < TOTAL; i++) {
        assertTrue(f.holderOf(pack, i).has(pack.fragmentId(i)), "counted copy " + i + " untouched");
      }
      assertEquals(0, f.coordinator.collector().collectOnce(), "nothing left to collect");
    }
  }

  @Test
  void collectOnce_replacementLeavingBetweenTwoDeletes_keepsTheCopyThePackNowNeeds() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 2)) {
      Pack pack = f.placePack(12);
      Holder away0 = f.holderOf(pack, 0);
      Holder away1 = f.holderOf(pack, 1);
      f.silence(away0, away1);
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      assertEquals(2, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
      Holder replacement0 = f.holderOf(pack, 0);
      Holder replacement1 = f.holderOf(pack, 1);
      f.resume(away0, away1);
      assertEquals(WHOLE, f.counted(pack), "whole without either returning copy, when the round starts");

      // Whichever returning copy is deleted first: just before, the other index's replacement
      // announces that it is leaving, so the pack now needs the other returning copy.
      AtomicInteger deletedFirst = new AtomicInteger(-1);
      AtomicInteger exitStatus = new AtomicInteger();
      Consumer<FragmentId> leaveBeforeTheFirstDelete = id -> {
        int index = id.hex().equals(pack.fragmentId(0)) ? 0 : 1;
        if (deletedFirst.compareAndSet(-1, index)) {
          try {
            exitStatus.set(f.exit(index == 0 ? replacement1 : replacement0));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
      away0.store.beforeDelete = leaveBeforeTheFirstDelete;
      away1.store.beforeDelete = leaveBeforeTheFirstDelete;

      assertEquals(1, f.coordinator.collector().collectOnce());
      assertEquals(200, exitStatus.get());
      int kept = 1 - deletedFirst.get();
      Holder keeper = kept == 0 ? away0 : away1;
      Holder leaver = kept == 0 ? replacement0 : replacement1;
      assertFalse((kept == 0 ? away1 : away0).has(pack.fragmentId(deletedFirst.get())));
      assertTrue(keeper.has(pack.fragmentId(kept)), "checked again before its DELETE: kept");
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, kept, keeper).orElseThrow().state());

      // Repair revives the kept copy; the leaver's copy is the surplus now.
      f.coordinator.repairer().repairOnce();
      assertEquals(keeper, f.holderOf(pack, kept));
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(1, f.coordinator.collector().collectOnce());
      assertFalse(leaver.has(pack.fragmentId(kept)), "the leaver's copy went once the pack was whole without it");
    }
  }

  @Test
  void collectOnce_ordersOfAPendingPack_areNeverCollected_untilItsWorkerStopsRenewing() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL, Duration.ofHours(1))) {
      Pack committed = f.placePack(13);
      Pack pending = f.placeUncommitted(14);
      f.catalog.pendingPacks().renew(pending.id(), "worker-1", f.clock.millis() + Duration.ofHours(3).toMillis());
      List<Holder> placedOn = f.holders.stream().filter(h -> hasAny(h, pending)).toList();
      assertEquals(TOTAL, placedOn.size());

      // Its orders expired over an hour ago: garbage by age, but a worker is still committing the pack.
      f.elapse(PlacementService.ORDER_LIFETIME.multipliedBy(2).plusMinutes(1));
      assertEquals(0, f.coordinator.collector().collectOnce());
      for (int i = 0; i < TOTAL; i++) {
        int index = i;
        assertTrue(placedOn.stream().anyMatch(h -> has(h, pending.fragmentId(index))), "pending fragment " + i + " kept");
      }

      // The worker died: once its pending mark lapses, the orphaned fragments are deleted.
      f.elapse(Duration.ofHours(1));
      assertEquals(TOTAL, f.coordinator.collector().collectOnce());
      for (Holder h : f.holders) {
        assertFalse(hasAny(h, pending), h + " still has a fragment of the abandoned pack");
      }
      assertEquals(WHOLE, f.counted(committed));
      for (int i = 0; i < TOTAL; i++) {
        assertTrue(f.holderOf(committed, i).has(committed.fragmentId(i)), "committed fragment " + i + " untouched");
      }
    }
  }

  /** Failed contacts (timeouts, 5xx) until the catalog suspends the holder; it stays live and healthy. */
  private static void suspend(CoordinatorFixture f, Holder h) throws IOException {
    for (int i = 0; i < 10_000 && !f.record(h).suspended(); i++) {
      f.catalog.registry().recordContact(h.id(), false, f.clock.millis());
    }
    assertTrue(f.record(h).suspended(), "suspended");
    assertTrue(f.rules.healthy(f.record(h), f.clock.millis()), "still counted by repair");
  }

  @Test
  void collectOnce_whileAnotherCopyIsOnASuspendedHolder_keepsTheSurplusCopy() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(15);
      Holder returned = supersede(f, pack, 3);
      assertEquals(WHOLE, f.counted(pack), "whole by repair's count");
      // A holder failing reads and audits with timeouts and 5xx: its copy may be the one missing
      // when it is needed, so the returning copy is not surplus yet.
      suspend(f, f.holderOf(pack, 0));

      assertEquals(0, f.coordinator.collector().collectOnce());
      assertTrue(returned.has(pack.fragmentId(3)), "kept while a counted copy is on a suspended holder");
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 3, returned).orElseThrow().state());

      // The suspended holder recovers (it serves again): now the returning copy is surplus.
      Holder recovering = f.holderOf(pack, 0);
      for (int i = 0; i < 10_000 && f.record(recovering).suspended(); i++) {
        f.catalog.registry().recordContact(recovering.id(), true, f.clock.millis());
      }
      assertEquals(1, f.coordinator.collector().collectOnce());
      assertFalse(returned.has(pack.fragmentId(3)));
    }
  }

  @Test
  void collectOnce_documentCopy_isDeletedOnlyWhileThreeCopiesInGoodStandingRemain() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      List<Holder> four = f.holders.subList(0, 4);
      String docId = f.placePackWithManifestCopies(16, four);
      Holder superseded = four.get(0);
      f.catalog.documents().supersedeDocumentCopy(docId, superseded.id());
      suspend(f, four.get(1));

      // Without the superseded copy, two copies are on holders in good standing: one short of three.
      f.coordinator.collector().collectOnce();
      assertTrue(recordedOn(f, docId, superseded), "the superseded copy is kept (the catalog still names it)");

      for (int i = 0; i < 10_000 && f.record(four.get(1)).suspended(); i++) {
        f.catalog.registry().recordContact(four.get(1).id(), true, f.clock.millis());
      }
      f.coordinator.collector().collectOnce();
      assertFalse(recordedOn(f, docId, superseded), "three good copies without it: collected");
      assertEquals(3, f.catalog.documents().document(docId).orElseThrow().holders().size());
    }
  }

  private static final String OLD_MANIFEST = "a".repeat(64);
  private static final String NEW_MANIFEST = "b".repeat(64);

  /** Forgets NAR {@code nar} of the pack (a takedown's catalog record; its tombstone is not placed here). */
  private static void forget(CoordinatorFixture f, Pack pack, int nar) throws IOException {
    var n = pack.manifest().nars().get(nar);
    f.catalog.forgotten().record(new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT,
        n.parsedNarInfo().storePath().hashPart(), n.key(), n.fileHash(), "sha256:n", pack.id().hex(), "leak",
        f.clock.millis()), new Catalog.DocumentCopies("tombstone-" + nar, List.of()), "{}",
        Forgotten.S3Objects.DELETED);
  }

  @Test
  void collectOnce_retiredPack_everyCopyOfItIsDeleted_theNewPackUntouched() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL, Duration.ofHours(2))) {
      Pack old = f.placePack(17, OLD_MANIFEST, f.holders.subList(0, 3));
      forget(f, old, 0);
      assertTrue(f.catalog.repairClaims().claim(old.id(), "rewrite-1", f.clock.millis(), f.clock.millis() + 3_600_000));
      assertEquals(0, f.coordinator.collector().collectOnce(), "nothing of a pack being rewritten is garbage");

      Pack rewritten = f.rewrite(old, 17, 1, "rewrite-1", NEW_MANIFEST, f.holders.subList(3, 6));
      String live = old.manifest().nars().get(1).parsedNarInfo().storePath().hashPart();
      assertEquals(rewritten.id(), f.catalog.narByStoreHash(live).orElseThrow().packId());
      assertEquals(WHOLE, f.counted(rewritten));

      // Nothing at once: the old fragments are kept a grace for reads that began before, and the
      // old manifest's copies with them (a catalog rebuilt meanwhile must know those fragments).
      assertEquals(0, f.coordinator.collector().collectOnce());
      for (int i = 0; i < TOTAL; i++) {
        assertTrue(has(f.holder(f.catalog.placements(old.id()).get(i).holderId()), old.fragmentId(i)),
            "old fragment " + i + " kept for reads under way");
      }
      f.elapse(GarbageCollector.RETIRED_GRACE);
      // Then both: the fragments, and the old manifest's three copies (which no holder here has:
      // each says so and the copy is forgotten).
      assertEquals(TOTAL + 3, f.coordinator.collector().collectOnce());
      for (Holder h : f.holders) {
        assertFalse(hasAny(h, old), h + " still has a fragment of the retired pack");
      }
      assertEquals(List.of(), f.catalog.placements(old.id()));
      assertEquals(List.of(), f.catalog.documents().document(OLD_MANIFEST).orElseThrow().holders());
      assertEquals(3, f.catalog.documents().document(NEW_MANIFEST).orElseThrow().holders().size());
      for (int i = 0; i < TOTAL; i++) {
        assertTrue(f.holderOf(rewritten, i).has(rewritten.fragmentId(i)), "new fragment " + i + " untouched");
      }
      assertEquals(0, f.coordinator.repairer().repairOnce().fragmentsRebuilt(), "repair leaves the retired pack be");
    }
  }

  @Test
  void collectOnce_rewriteKilledBetweenPlacingAndCommitting_keepsTheOldPack_andCollectsTheNewFragments()
      throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL, Duration.ofHours(1))) {
      Pack old = f.placePack(18, OLD_MANIFEST, f.holders.subList(0, 3));
      forget(f, old, 0);
      assertTrue(f.catalog.repairClaims().claim(old.id(), "rewrite-1", f.clock.millis(), f.clock.millis() + 60_000));
      Pack orphan = f.placeRewriteUncommitted(18, 1);
      // The rewrite dies here: its claim lapses, its placement orders expire.
      f.elapse(PlacementService.ORDER_LIFETIME.multipliedBy(2).plusMinutes(1));
      assertEquals(TOTAL, f.coordinator.collector().collectOnce(), "the new pack's fragments are orphans");
      for (Holder h : f.holders) {
        assertFalse(hasAny(h, orphan), h + " still has a fragment of the uncommitted rewrite");
      }
      assertEquals(WHOLE, f.counted(old), "the old pack is whole and counted");
      for (int i = 0; i < TOTAL; i++) {
        assertTrue(f.holderOf(old, i).has(old.fragmentId(i)), "old fragment " + i + " untouched");
      }
      for (var nar : old.manifest().nars()) {
        assertEquals(old.id(), f.catalog.narByStoreHash(nar.parsedNarInfo().storePath().hashPart()).orElseThrow()
            .packId());
      }
      assertTrue(f.catalog.packs().retired(old.id()).isEmpty());
    }
  }

  private static boolean recordedOn(CoordinatorFixture f, String docId, Holder h) throws IOException {
    return f.catalog.documents().documentsOn(List.of(h.id())).stream().anyMatch(d -> d.docId().equals(docId));
  }

  private static boolean hasAny(Holder h, Pack pack) {
    return pack.manifest().fragments().stream().anyMatch(fragment -> has(h, fragment.id().hex()));
  }

  private static boolean has(Holder h, String fragmentId) {
    try {
      return h.has(fragmentId);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
