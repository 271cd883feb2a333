package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentState;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What repair moves and how: a readable fragment by one verified copy, not a decode from k; a
 * fragment whose holder's proven address moved into a crowded wider network, found by the sweep;
 * a work directory left by a coordinator that died, swept at start; a delete that cannot reach
 * its holder counting against it.
 */
class RepairMovesTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());

  @TempDir
  Path dir;

  @Test
  void repairOnce_exitingHolder_itsFragmentIsCopied_withOneFragmentRead() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(21);
      Holder leaving = f.holderOf(pack, 1);
      Holder spare = f.without(pack).getFirst();
      assertEquals(200, f.exit(leaving));

      java.util.Map<Holder, Integer> opens = opensByHolder(f);
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(1, round.fragmentsRebuilt(), round.toString());
      assertEquals(1, readsSince(f, opens, leaving), "the leaving holder's fragment read once");
      for (int i = 0; i < TOTAL; i++) {
        if (i != 1) {
          assertEquals(0, readsSince(f, opens, f.holderOf(pack, i)), "fragment " + i + " not read: a copy, not a decode");
        }
      }
      assertEquals(spare, f.holderOf(pack, 1));
      assertTrue(spare.has(pack.fragmentId(1)));
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 1, leaving).orElseThrow().state());
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @Test
  void repairOnce_holderWhoseProvenAddressMovedIntoAnotherHoldersWiderNetwork_isMovedByTheSweep() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(22);
      Holder moved = f.holderOf(pack, 0);
      Holder neighbour = f.holderOf(pack, 3);
      Holder spare = f.without(pack).getFirst();
      // A dynamic address: the holder is proven again, now inside the neighbour's /16 (its own /24).
      String neighbourSixteen = widerNetwork(f.record(neighbour).seenAddress());
      f.catalog.registry().recordProof(moved.id(), neighbourSixteen + ".77.1", f.clock.millis());
      assertEquals(neighbourSixteen, widerNetwork(f.record(moved).seenAddress()));
      // With m = 2 a wider network may hold one fragment of the pack: one of the two no longer counts.

      java.util.Map<Holder, Integer> opens = opensByHolder(f);
      Repairer.Round round = f.coordinator.repairer().repairOnce();
      assertEquals(1, round.fragmentsRebuilt(), round.toString());
      assertEquals(1, readsSince(f, opens, moved) + readsSince(f, opens, neighbour),
          "a readable fragment moves by one copy");
      Set<String> widerNetworks = new HashSet<>();
      for (int i = 0; i < TOTAL; i++) {
        widerNetworks.add(widerNetwork(f.record(f.holderOf(pack, i)).seenAddress()));
      }
      assertEquals(TOTAL, widerNetworks.size(), "every fragment in a wider network of its own again");
      assertTrue(spare.has(pack.fragmentId(0)) || spare.has(pack.fragmentId(3)), "moved to the holder without one");
      assertTrue(f.coordinator.repairer().queue().isEmpty());
    }
  }

  @Test
  void start_sweepsRebuiltFragmentsADeadCoordinatorLeft_andKeepsItsClaimOwner() throws Exception {
    Path work = Files.createDirectories(dir.resolve("repair-work"));
    Files.writeString(work.resolve("repair-0123abcd-c0"), "half a fragment");
    Files.writeString(work.resolve("document-42"), "half a document");
    Files.writeString(work.resolve("claim-owner-0"), "repair-earlier\n");
    Files.writeString(work.resolve("notes.txt"), "not ours");
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 1)) {
      assertFalse(Files.exists(work.resolve("repair-0123abcd-c0")));
      assertFalse(Files.exists(work.resolve("document-42")));
      assertEquals("repair-earlier\n", Files.readString(work.resolve("claim-owner-0")), "its name survives");
      assertTrue(Files.exists(work.resolve("notes.txt")), "only what repair writes is swept");
    }
  }

  @Test
  void collectOnce_deleteThatCannotReachItsHolder_countsAgainstIt_andTheCopyStaysRecorded() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, TOTAL + 1)) {
      Pack pack = f.placePack(23);
      Holder away = f.holderOf(pack, 2);
      f.silence(away);
      f.elapse(CoordinatorFixture.OFFLINE_AFTER.plusMillis(1));
      assertEquals(1, f.coordinator.repairer().repairOnce().fragmentsRebuilt());
      f.resume(away);
      // Back, heartbeating and proven, then its server dies between the proof and the delete.
      f.stop(away);
      double before = f.record(away).suspension().value();

      assertEquals(0, f.coordinator.collector().collectOnce());
      assertTrue(f.record(away).suspension().value() < before, "a delete that could not reach it counts");
      assertEquals(FragmentState.SUPERSEDED, f.row(pack, 2, away).orElseThrow().state(), "asked again next round");
      assertNotEquals(away, f.holderOf(pack, 2));
    }
  }

  private static java.util.Map<Holder, Integer> opensByHolder(CoordinatorFixture f) {
    java.util.Map<Holder, Integer> opens = new java.util.HashMap<>();
    f.holders.forEach(h -> opens.put(h, h.store.opens.get()));
    return opens;
  }

  private static int readsSince(CoordinatorFixture f, java.util.Map<Holder, Integer> before, Holder h) {
    return h.store.opens.get() - before.get(h);
  }

  /** The /16 of a dotted IPv4 address, e.g. {@code 127.3}. */
  private static String widerNetwork(String address) {
    String[] octets = address.split("\\.");
    return octets[0] + "." + octets[1];
  }
}
