package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Leases on shared work and the counted bytes coordinators share, on every backend (SQLite, and
 * PostgreSQL when CI starts one).
 */
class LeasesContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void take_oneOwnerAtATime_untilItExpires_andTheOwnerMayTakeItAgain(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Leases leases = c.leases();
      assertEquals(Optional.empty(), leases.get("gc"));
      assertTrue(leases.take("gc", "a", 1_000, 2_000), "never taken: due");
      assertFalse(leases.take("gc", "b", 1_500, 2_500), "a holds it until 2000");
      assertTrue(leases.take("gc", "a", 1_500, 3_000), "a restarted owner takes its own back at once");
      assertFalse(leases.take("gc", "b", 3_000, 4_000), "held until 3000 inclusive");
      assertTrue(leases.take("gc", "b", 3_001, 4_000), "a died: b takes over once it expired");
      assertEquals(Optional.of("b"), leases.get("gc").orElseThrow().owner());
      assertTrue(leases.take("rebalance", "a", 3_001, 4_000), "names apart");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void release_saysWhenTheWorkIsNextDue_andUntilThenNobodyTakesIt(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Leases leases = c.leases();
      assertTrue(leases.take("audit h1", "a", 1_000, 2_000));
      leases.release("audit h1", "a", 61_000);
      assertEquals(new Leases.Lease("audit h1", Optional.empty(), 0, 61_000), leases.get("audit h1").orElseThrow());
      assertFalse(leases.take("audit h1", "b", 60_999, 70_000), "done until 61000: not due");
      assertFalse(leases.take("audit h1", "a", 60_999, 70_000), "not even for the owner that did it");
      assertTrue(leases.take("audit h1", "b", 61_000, 70_000), "due");
      leases.release("audit h1", "b", 61_000);
      assertTrue(leases.take("audit h1", "a", 61_000, 70_000), "released with the work not done: due at once");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void renew_failsOnceAnotherOwnerTookTheLeaseOver_andReleaseByThatOwnerChangesNothing(String backend)
      throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Leases leases = c.leases();
      assertTrue(leases.take("gc", "a", 1_000, 2_000));
      assertTrue(leases.renew("gc", "a", 5_000), "held: renewed");
      assertTrue(leases.renew("gc", "a", 6_000), "renewed past its expiry while nobody took it: still a's");
      assertTrue(leases.take("gc", "b", 6_001, 9_000), "expired: b takes over");
      assertFalse(leases.renew("gc", "a", 12_000), "a finds out it lost the lease");
      leases.release("gc", "a", 99_000);
      assertEquals(new Leases.Lease("gc", Optional.of("b"), 9_000, 0), leases.get("gc").orElseThrow(),
          "a's late release leaves b's lease alone");
      assertFalse(leases.renew("never", "a", 1), "no such lease");
      leases.release("never", "a", 1);
      assertEquals(Optional.empty(), leases.get("never"), "releasing what was never taken creates nothing");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void unavailable_namesUnderThePrefixHeldByOthersOrNotDue(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Leases leases = c.leases();
      assertTrue(leases.take("audit h1", "b", 1_000, 5_000)); // held by another
      assertTrue(leases.take("audit h2", "a", 1_000, 5_000)); // mine
      assertTrue(leases.take("audit h3", "b", 1_000, 2_000)); // another's, expired by 3000
      assertTrue(leases.take("audit h4", "b", 1_000, 2_000));
      leases.release("audit h4", "b", 10_000); // done, not due
      assertTrue(leases.take("audit h5", "b", 1_000, 2_000));
      leases.release("audit h5", "b", 3_000); // done, due now
      assertTrue(leases.take("gc", "b", 1_000, 5_000)); // another prefix
      assertEquals(Set.of("audit h1", "audit h4"), leases.unavailable("audit ", "a", 3_000));
      assertEquals(Set.of("audit h1", "audit h4", "gc"), leases.unavailable("", "a", 3_000));
      assertEquals(Set.of(), leases.unavailable("AUDIT ", "a", 3_000), "the prefix is compared exactly");
      for (String name : List.of("audit h2", "audit h3", "audit h5")) {
        assertTrue(leases.take(name, "a", 3_000, 6_000), "what is not unavailable can be taken: " + name);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void take_manyOwnersAtOnce_eachLeaseGoesToExactlyOne(String backend) throws Exception {
    String url = CatalogContractTest.freshUrl(backend, dir);
    try (Catalog c = Catalog.open(url)) {
      c.leases().take("warm-up", "x", 0, 1); // the table exists before the race
    }
    List<String> names = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      names.add("audit h" + i);
    }
    // Four owners, each with its own catalog (its own connections), race for the same names, most
    // of them rows nobody has inserted yet.
    ConcurrentHashMap<String, String> winners = new ConcurrentHashMap<>();
    CyclicBarrier start = new CyclicBarrier(4);
    List<Catalog> catalogs = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<?>> runs = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        Catalog c = Catalog.open(url);
        catalogs.add(c);
        String owner = "coordinator-" + w;
        runs.add(pool.submit(() -> {
          start.await();
          for (String name : names) {
            if (c.leases().take(name, owner, 10, 10_000)) {
              String before = winners.putIfAbsent(name, owner);
              if (before != null) {
                throw new AssertionError(name + " taken by " + before + " and " + owner);
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
    assertEquals(Set.copyOf(names), winners.keySet(), "every lease taken by exactly one owner");
  }

  @ParameterizedTest
  @MethodSource("backends")
  void leases_refuseNamesOwnersAndTimesThatMakeNoSense(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Leases leases = c.leases();
      assertThrows(IllegalArgumentException.class, () -> leases.take(" ", "a", 1, 2));
      assertThrows(IllegalArgumentException.class, () -> leases.take("gc", "", 1, 2));
      assertThrows(IllegalArgumentException.class, () -> leases.take("gc", "a", 2, 2));
      assertThrows(IllegalArgumentException.class, () -> leases.renew("gc", null, 2));
      assertThrows(IllegalArgumentException.class, () -> leases.unavailable("audit ", " ", 2));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void countedBytes_areWhatWasLastSaved_holdersNoLongerCountedIncluded(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      CountedBytes counted = c.countedBytes();
      assertEquals(Map.of(), counted.read(), "never counted");
      counted.save(Map.of(new HolderId("h1"), 10L, new HolderId("h2"), 20L), 1_000);
      counted.save(Map.of(new HolderId("h2"), 25L, new HolderId("h3"), 5L), 2_000);
      assertEquals(Map.of(new HolderId("h2"), 25L, new HolderId("h3"), 5L), counted.read(),
          "a holder with nothing counted any more is not left at its old count");
    }
  }
}
