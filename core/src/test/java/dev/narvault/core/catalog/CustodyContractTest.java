package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Repair's parts of the catalog (custody, repair claims, placement orders), on every backend
 * (SQLite, and PostgreSQL when CI starts one).
 */
class CustodyContractTest {
  @org.junit.jupiter.api.io.TempDir
  static java.nio.file.Path dir;

  static java.util.stream.Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  private static PackId pack(Catalog c, long seed) throws Exception {
    for (int h = 0; h < 8; h++) {
      CatalogContractTest.register(c, "h" + h, "http://h" + h, 1);
    }
    Manifest m = CatalogContractTest.manifest(2, seed);
    PackId packId = ManifestCodec.packId(m);
    c.recordPack(packId, m, "{}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")), 1);
    return packId;
  }

  @ParameterizedTest
  @MethodSource("backends")
  void claims_oneOwnerAtATime_expiredClaimsCanBeTakenOver(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 11);
      Custody custody = c.custody();
      assertTrue(c.repairClaims().claim(packId, "w1", 1000, 2000));
      assertFalse(c.repairClaims().claim(packId, "w2", 1500, 2500), "claimed by w1 until 2000");
      assertTrue(c.repairClaims().claim(packId, "w1", 1500, 3000), "the owner may extend");
      assertTrue(c.repairClaims().claim(packId, "w2", 3001, 4000), "w1's claim expired: w2 takes over");
      CatalogException lost = assertThrows(CatalogException.class,
          () -> custody.commitRepair(packId, "w1", List.of(new Custody.Rebuilt(0, "ab", new HolderId("h5")))));
      assertTrue(lost.getMessage().contains("lost its claim"), lost.getMessage());
      assertEquals(5, c.placements(packId).size(), "nothing committed by a worker without the claim");
      c.repairClaims().release(packId, "w2");
      assertTrue(c.repairClaims().claim(packId, "w3", 3002, 5000));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void claims_manyWorkersAtOnce_eachPackGoesToExactlyOne(String backend) throws Exception {
    String url = CatalogContractTest.freshUrl(backend, dir);
    List<String> packIds = new ArrayList<>();
    try (Catalog c = Catalog.open(url)) {
      for (long seed = 0; seed < 12; seed++) {
        packIds.add(pack(c, 100 + seed).hex());
      }
    }
    // Four workers, each with its own catalog connection, race for the same packs.
    ConcurrentHashMap<String, String> winners = new ConcurrentHashMap<>();
    List<Catalog> catalogs = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<?>> runs = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        Catalog c = Catalog.open(url);
        catalogs.add(c);
        String owner = "w" + w;
        runs.add(pool.submit(() -> {
          for (String p : packIds) {
            if (c.repairClaims().claim(new PackId(p), owner, 10, 10_000)) {
              String before = winners.putIfAbsent(p, owner);
              if (before != null) {
                throw new AssertionError(p + " claimed by " + before + " and " + owner);
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : runs) {
        f.get();
      }
    } finally {
      for (Catalog c : catalogs) {
        c.close();
      }
    }
    assertEquals(Set.copyOf(packIds), winners.keySet(), "every pack claimed by exactly one worker");
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRepair_supersedesOldCopies_andGarbageIsCollectedOnlyFromReachableHolders(String backend)
      throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 12);
      Custody custody = c.custody();
      String f0 = c.placements(packId).get(0).fragmentId();
      assertEquals(List.of(), custody.packsToCheck(List.of()));
      assertEquals(List.of(packId), custody.packsToCheck(List.of(new HolderId("h0"))));
      assertTrue(c.repairClaims().claim(packId, "w", 1, 100));
      custody.commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h5"))));
      List<FragmentPlacement> rows = c.placements(packId);
      assertEquals(6, rows.size());
      assertEquals(FragmentState.SUPERSEDED, rows.stream().filter(p -> p.holderId().equals(new HolderId("h0"))).findFirst()
          .orElseThrow().state());
      assertEquals(FragmentState.STORED, rows.stream().filter(p -> p.holderId().equals(new HolderId("h5"))).findFirst()
          .orElseThrow().state());
      assertEquals(List.of(packId), custody.packsToCheck(List.of()), "a non-stored row keeps the pack in view");
      assertEquals(List.of(), custody.garbage(List.of(new HolderId("h1"), new HolderId("h2")), 0, 10), "h0 is not reachable");
      List<Custody.Garbage> g = custody.garbage(List.of(new HolderId("h0"), new HolderId("h1")), 0, 10);
      assertEquals(1, g.size());
      assertEquals(new HolderId("h0"), g.getFirst().holderId());
      assertFalse(g.getFirst().order());
      custody.forget(g.getFirst());
      assertEquals(5, c.placements(packId).size());
      assertEquals(List.of(), custody.garbage(List.of(new HolderId("h0")), 0, 10));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void orders_thatNeverCommit_becomeGarbageAfterExpiry_committedOnesDoNot(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 13);
      Custody custody = c.custody();
      String committed = c.placements(packId).get(1).fragmentId();
      String orphan = "ee".repeat(32);
      c.placementOrders().recordOrders(packId, List.of(committed, orphan), List.of(new HolderId("h1"), new HolderId("h6")), 500);
      assertEquals(List.of(), custody.garbage(List.of(new HolderId("h1"), new HolderId("h6")), 400, 10), "not expired yet");
      List<Custody.Garbage> g = custody.garbage(List.of(new HolderId("h1"), new HolderId("h6")), 600, 10);
      assertEquals(List.of(new HolderId("h6")), g.stream().map(Custody.Garbage::holderId).toList());
      assertTrue(g.getFirst().order());
      assertEquals(orphan, g.getFirst().fragmentId());
      custody.forget(g.getFirst());
      assertEquals(List.of(), custody.garbage(List.of(new HolderId("h1"), new HolderId("h6")), 600, 10));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void revive_aSupersededCopyCountsAgain_andTheOtherCopyOfItsIndexIsKeptAsSurplus(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 20);
      Custody custody = c.custody();
      String f0 = c.placements(packId).get(0).fragmentId();
      assertTrue(c.repairClaims().claim(packId, "w", 20, 100));
      custody.commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h7"))));
      assertEquals(FragmentState.SUPERSEDED, state(c, packId, 0, "h0"));
      assertTrue(custody.revive(packId, 0, new HolderId("h0")), "the returning holder's copy passed its audit");
      assertEquals(FragmentState.STORED, state(c, packId, 0, "h0"));
      assertEquals(FragmentState.SUPERSEDED, state(c, packId, 0, "h7"), "one stored copy per index");
      assertTrue(custody.auditableFragmentNear(new HolderId("h0"), "").isPresent());
      c.recordScrubReport(new HolderId("h7"), f0, 30);
      assertTrue(!custody.revive(packId, 0, new HolderId("h7")), "a corrupt copy is never revived");
      assertTrue(!custody.revive(packId, 0, new HolderId("nobody")));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void stillGarbage_isFalseOnceACopyCountsAgainOrWasCollected_orItsOrderWasRenewed(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 21);
      Custody custody = c.custody();
      String f0 = c.placements(packId).get(0).fragmentId();
      assertTrue(c.repairClaims().claim(packId, "w", 20, 100));
      custody.commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h7"))));
      Custody.Garbage superseded = custody.garbage(List.of(new HolderId("h0")), 0, 10).getFirst();
      assertTrue(custody.stillGarbage(superseded, 0));
      assertTrue(custody.revive(packId, 0, new HolderId("h0")), "another coordinator revives it");
      assertFalse(custody.stillGarbage(superseded, 0), "it counts again: deleting it now would lose it");
      Custody.Garbage surplus = custody.garbage(List.of(new HolderId("h7")), 0, 10).getFirst();
      assertTrue(custody.stillGarbage(surplus, 0));
      custody.forget(surplus);
      assertFalse(custody.stillGarbage(surplus, 0), "collected by another round");

      String orphan = "ee".repeat(32);
      c.placementOrders().recordOrders(packId, List.of(orphan), List.of(new HolderId("h6")), 500);
      Custody.Garbage order = custody.garbage(List.of(new HolderId("h6")), 600, 10).getFirst();
      assertTrue(custody.stillGarbage(order, 600));
      c.placementOrders().recordOrders(packId, List.of(orphan), List.of(new HolderId("h6")), 5_000);
      assertFalse(custody.stillGarbage(order, 600), "ordered anew: a worker may be uploading it");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void forgetDeleted_forgetsTheCopyEvenIfItCountsAgain_forgetDoesNot(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 22);
      Custody custody = c.custody();
      String f0 = c.placements(packId).get(0).fragmentId();
      assertTrue(c.repairClaims().claim(packId, "w", 20, 100));
      custody.commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h7"))));
      c.repairClaims().release(packId, "w");
      Custody.Garbage superseded = custody.garbage(List.of(new HolderId("h0")), 0, 10).getFirst();
      // Judged garbage, its DELETE sent; meanwhile something (an audit passing it) makes it count.
      assertTrue(custody.revive(packId, 0, new HolderId("h0")));
      custody.forget(superseded);
      assertEquals(FragmentState.STORED, state(c, packId, 0, "h0"), "forget keeps a copy that counts");
      custody.forgetDeleted(superseded);
      assertTrue(c.placements(packId).stream().noneMatch(p -> p.fragmentIndex() == 0
          && p.holderId().equals(new HolderId("h0"))), "the holder deleted it: counted, it would be a copy that is gone");
      // The revival superseded h7's copy; it stays recorded (repair sees index 0 short and rebuilds
      // it, or revives h7's copy): only the deleted holder's row goes.
      assertEquals(FragmentState.SUPERSEDED, state(c, packId, 0, "h7"), "the pack's other copy of index 0 stays");
    }
  }

  private static FragmentState state(Catalog c, PackId packId, int index, String holder) throws Exception {
    return c.placements(packId).stream().filter(p -> p.fragmentIndex() == index && p.holderId().value().equals(holder))
        .findFirst().orElseThrow().state();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void garbage_fromAnyPackId_wrapsAround_soKeptCopiesNeverHideTheRest(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      List<PackId> packs = new ArrayList<>(List.of(pack(c, 31), pack(c, 32), pack(c, 33)));
      for (PackId packId : packs) {
        String f0 = c.placements(packId).stream().filter(p -> p.holderId().equals(new HolderId("h0"))).findFirst()
            .orElseThrow().fragmentId();
        assertTrue(c.repairClaims().claim(packId, "w", 1, 100));
        c.custody().commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h5"))));
      }
      java.util.Collections.sort(packs);
      Custody custody = c.custody();
      assertEquals(packs.get(0), custody.garbage(List.of(new HolderId("h0")), 0, 1).getFirst().packId());
      assertEquals(packs.get(1), custody.garbage(List.of(new HolderId("h0")), 0, 1, packs.get(1).hex()).getFirst().packId());
      assertEquals(List.of(packs.get(2), packs.get(0)), custody.garbage(List.of(new HolderId("h0")), 0, 2,
          packs.get(1) + "0").stream().map(Custody.Garbage::packId).toList(), "from past the second, wrapping");
      assertEquals(3, custody.garbage(List.of(new HolderId("h0")), 0, 10, packs.get(2).hex()).size(), "each row once");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void countedBytes_areTheCatalogsOwnCount_storedCopiesOnly(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Manifest m = CatalogContractTest.manifest(2, 21);
      for (int h = 0; h < 8; h++) {
        CatalogContractTest.register(c, "h" + h, "http://h" + h, 1);
      }
      PackId packId = ManifestCodec.packId(m);
      String signed = "{\"signed\":\"manifest of twenty-one bytes or so\"}";
      c.recordPack(packId, m, signed, List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")),
          java.util.Optional.of(new Catalog.DocumentCopies("d" + packId, List.of(new HolderId("h0"), new HolderId("h6")))), 1);
      long fragment = Math.ceilDiv(m.packLength(), (long) m.dataFragmentCount());
      var counted = c.custody().countedBytesByHolder();
      assertEquals(fragment + signed.length(), counted.get(new HolderId("h0")), "a fragment and the manifest's copy");
      assertEquals(fragment, counted.get(new HolderId("h1")));
      assertEquals(signed.length(), counted.get(new HolderId("h6")));
      assertFalse(counted.containsKey(new HolderId("h7")), "nothing on h7");
      // A superseded copy is not counted: the holder's bytes moved to the holder that took over.
      String f0 = c.placements(packId).stream().filter(p -> p.holderId().equals(new HolderId("h0"))).findFirst()
          .orElseThrow().fragmentId();
      assertTrue(c.repairClaims().claim(packId, "w", 1, 100));
      c.custody().commitRepair(packId, "w", List.of(new Custody.Rebuilt(0, f0, new HolderId("h5"))));
      counted = c.custody().countedBytesByHolder();
      assertEquals((long) signed.length(), counted.get(new HolderId("h0")));
      assertEquals(fragment, counted.get(new HolderId("h5")));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void storedFragmentNear_wrapsAround_andSkipsCopiesNotStored(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PackId packId = pack(c, 14);
      String f2 = c.placements(packId).get(2).fragmentId();
      Custody custody = c.custody();
      assertEquals(f2, custody.storedFragmentNear(new HolderId("h2"), "ff".repeat(32)).orElseThrow().fragmentId(), "wraps");
      assertEquals(f2, custody.storedFragmentNear(new HolderId("h2"), "").orElseThrow().fragmentId());
      c.recordScrubReport(new HolderId("h2"), f2, 5);
      assertTrue(custody.storedFragmentNear(new HolderId("h2"), "").isEmpty(), "a corrupt copy is not audited again");
      assertEquals(0, custody.storedFragments(new HolderId("h2")));
      assertEquals(1, custody.storedFragments(new HolderId("h3")));
      custody.markExiting(new HolderId("h3"));
      assertEquals(HolderStatus.EXITING, c.holder(new HolderId("h3")).orElseThrow().state());
      assertEquals(Set.of("h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"),
          c.holders().stream().map(h -> h.holderId().value()).collect(Collectors.toSet()));
    }
  }
}
