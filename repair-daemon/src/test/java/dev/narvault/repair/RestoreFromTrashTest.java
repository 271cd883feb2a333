package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentState;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Copies of last resort: a copy garbage collection deleted (its pack was whole without it) is
 * asked back from its holder's trash when the pack later falls short of k readable fragments,
 * and the pack is whole again; one deleted longer ago than holders keep their trash is not.
 */
class RestoreFromTrashTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());

  @TempDir
  Path dir;

  /** Index 3's holder goes away, is replaced, comes back; its returning copy is collected into its trash. */
  private static Holder collectedIntoTrash(CoordinatorFixture f, Pack pack) throws Exception {
    Holder away = f.holderOf(pack, 3);
    f.silence(away);
    f.elapse(OFFLINE_AFTER.plusMillis(1));
    assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
    f.resume(away);
    assertEquals(1, f.coordinator.collector().collectOnce());
    assertFalse(away.has(pack.fragmentId(3)), "deleted: in its trash now");
    assertEquals(1, f.catalog.trashed().of(pack.id(), 0).size(), "remembered as a copy of last resort");
    return away;
  }

  /** The holders of indexes 0, 1 and 3 vanish for good: 3 of 6 readable, k = 4. */
  private static void loseThree(CoordinatorFixture f, Pack pack) throws Exception {
    for (int i : new int[] {0, 1, 3}) {
      Holder h = f.holderOf(pack, i);
      f.stop(h);
      f.silence(h);
    }
    f.elapse(OFFLINE_AFTER.plusMillis(1));
  }

  @Test
  void repairOnce_packShortOfK_bringsTheDeletedCopyBackFromTheTrash_andIsWholeAgain() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 3)) {
      Pack pack = f.placePack(31);
      Holder trashedOn = collectedIntoTrash(f, pack);
      loseThree(f, pack);
      assertFalse(f.coordinator.repairer().queue().getFirst().recoverable(), "3 of 6 readable, 4 needed");

      Repairer.Round first = f.coordinator.repairer().repairOnce();
      assertTrue(trashedOn.has(pack.fragmentId(3)), "restored from its trash with a signed order");
      assertEquals(0, first.fragmentsRebuilt(), first.toString());
      assertTrue(f.catalog.trashed().of(pack.id(), 0).isEmpty(), "no longer in the trash");

      // It passes an audit, counts again, and the pack is rebuilt around it.
      for (int round = 0; round < 3 && !f.counted(pack).equals(WHOLE); round++) {
        f.coordinator.repairer().repairOnce();
      }
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(trashedOn, f.holderOf(pack, 3));
      assertEquals(FragmentState.STORED, f.row(pack, 3, trashedOn).orElseThrow().state());
      assertTrue(f.coordinator.metrics().render().contains("narvault_copies_restored_total 1"));
    }
  }

  @Test
  void repairOnce_copyDeletedLongerAgoThanHoldersKeepTheirTrash_isForgotten_notAskedFor() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 3)) {
      Pack pack = f.placePack(32);
      Holder trashedOn = collectedIntoTrash(f, pack);
      // A week passes (the holders heartbeat again after it, and are proven again).
      f.clock.advance(Repairer.HOLDER_TRASH.plus(Duration.ofMinutes(1)));
      f.elapse(OFFLINE_AFTER.dividedBy(2));
      loseThree(f, pack);
      int opens = trashedOn.store.opens.get();

      f.coordinator.repairer().repairOnce();
      assertTrue(f.catalog.trashed().of(pack.id(), 0).isEmpty(), "forgotten after the holders' trash time");
      assertFalse(f.coordinator.repairer().queue().getFirst().recoverable(), "nothing to bring back");
      assertEquals(opens, trashedOn.store.opens.get());
    }
  }
}
