package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.OFFLINE_AFTER;
import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Three coordinators on one catalog (SQLite, and PostgreSQL when CI starts one) share repair,
 * audits and garbage collection without doing anything twice, and a coordinator that dies
 * mid-work has its claims and leases taken over once they expire. Coordinator 0 is paused in the
 * middle of its work (at a holder, by a hook in its store) while the other two run whole rounds:
 * the interleaving in which work done twice would show.
 */
class SharedWorkTest {
  private static final Set<Integer> WHOLE = IntStream.range(0, TOTAL).boxed().collect(Collectors.toSet());
  /** Repair and audit interval of every coordinator. */
  private static final Duration INTERVAL = Duration.ofHours(1);
  private static final int HOLDERS = TOTAL + 3;

  @TempDir
  Path dir;

  static Stream<String> backends() {
    return CoordinatorFixture.backends();
  }

  private CoordinatorFixture three(String backend) throws Exception {
    return new CoordinatorFixture(dir.resolve("f"), HOLDERS, 3, CoordinatorFixture.catalogUrl(backend, dir), INTERVAL);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void repair_packsThatLostFragments_areRepairedExactlyOnce(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      List<Pack> packs = new ArrayList<>();
      for (int seed = 0; seed < 4; seed++) {
        packs.add(f.placePack(100 + seed));
      }
      Holder dead = busiest(f, packs);
      int lost = lostWith(f, packs, dead);
      assertTrue(lost >= 2, "the dead holder held fragments of two packs or more: " + lost);
      f.silence(dead);
      f.stop(dead);
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      f.holders.forEach(h -> h.store.uploads.clear());

      // Coordinator 0 pauses at its first upload; 1 and 2 run whole rounds meanwhile.
      Pause pause = new Pause(id -> true);
      f.holders.forEach(h -> h.store.beforeUpload = pause);
      List<Repairer.Round> rounds = pause.during(f.coordinators.get(0)::repairAndCollect,
          List.of(f.coordinators.get(1)::repairAndCollect, f.coordinators.get(2)::repairAndCollect));

      assertEquals(lost, rounds.stream().mapToLong(Repairer.Round::fragmentsRebuilt).sum(), rounds.toString());
      for (Holder h : f.holders) {
        h.store.uploads.forEach((id, n) -> assertEquals(1, n.get(), h + " received fragment " + id + " once"));
      }
      assertEquals(lost, f.holders.stream().mapToInt(h -> h.store.uploads.size()).sum(), "no surplus fragment placed");
      for (Pack pack : packs) {
        assertEquals(WHOLE, f.counted(pack));
        assertEquals(TOTAL, f.catalog.placements(pack.id()).stream().filter(FragmentPlacement::stored).count(),
            "one stored copy per index");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void audits_eachHolderOncePerInterval_acrossThreeCoordinators(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      for (int seed = 0; seed < 4; seed++) {
        f.placePack(200 + seed);
      }
      List<Holder> audited = withFragments(f);
      assertTrue(audited.size() >= TOTAL);

      int failed = concurrently(f.coordinators.stream().<Callable<Integer>>map(c -> c.auditor()::auditOnce).toList())
          .stream().mapToInt(Integer::intValue).sum();
      assertEquals(0, failed);
      assertAudits(f, audited, 1);
      assertEquals(audited.size(), f.coordinators.stream().mapToLong(c -> c.metrics().auditsPassed.sum()).sum(),
          "one audit per holder among the three");

      for (Coordinator c : f.coordinators) {
        assertEquals(0, c.auditor().auditOnce());
      }
      assertAudits(f, audited, 1);

      f.elapse(INTERVAL);
      concurrently(f.coordinators.stream().<Callable<Integer>>map(c -> c.auditor()::auditOnce).toList());
      assertAudits(f, audited, 2);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void garbage_isDeletedOnce(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      Pack pack = f.placePack(300);
      Holder returned = supersede(f, pack, 2);
      FragmentId garbage = new FragmentId(pack.fragmentId(2));

      Pause pause = new Pause(id -> true);
      returned.store.beforeDelete = pause;
      pause.during(f.coordinators.get(0)::repairAndCollect,
          List.of(f.coordinators.get(1)::repairAndCollect, f.coordinators.get(2)::repairAndCollect));

      assertEquals(1, returned.store.deletes.get(garbage).get(), "one DELETE among the three");
      assertEquals(1, f.coordinators.stream().mapToLong(c -> c.metrics().garbageDeleted.sum()).sum());
      assertFalse(returned.has(garbage.hex()));
      assertTrue(f.row(pack, 2, returned).isEmpty(), "forgotten");
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  /**
   * While coordinator 0 deletes a surplus copy, the copy that made it surplus stops counting, and
   * coordinator 1 would revive the one being deleted (it passes an audit: its DELETE is not done
   * yet). The pack's claim, which garbage collection holds from its check to its DELETE and
   * repair needs to revive, keeps the catalog from counting a copy that is gone.
   */
  @ParameterizedTest
  @MethodSource("backends")
  void garbage_whileItsDeleteIsUnderWay_noOtherCoordinatorMakesTheCopyCountAgain(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      Pack pack = f.placePack(350);
      Holder returned = supersede(f, pack, 2);
      Holder replacement = f.holderOf(pack, 2);

      Pause pause = new Pause(id -> true);
      returned.store.beforeDelete = pause;
      pause.during(() -> f.coordinators.get(0).collector().collectOnce(), List.of(() -> {
        assertEquals(200, f.exit(replacement)); // its copy of fragment 2 no longer counts
        return (int) f.coordinators.get(1).repairer().repairOnce().fragmentsRebuilt();
      }));
      assertFalse(returned.has(pack.fragmentId(2)), "deleted");
      f.coordinators.get(1).repairer().repairOnce();

      for (FragmentPlacement p : f.catalog.placements(pack.id())) {
        if (p.stored()) {
          assertTrue(f.holder(p.holderId()).has(p.fragmentId()),
              "the catalog counts fragment " + p.fragmentIndex() + " on " + p.holderId() + ", which has it");
        }
      }
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void documents_newCopiesArePlacedOnce(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      List<Holder> keepers = f.holders.subList(0, 3);
      String docId = f.placePackWithManifestCopies(400, keepers);
      Holder dead = keepers.getFirst();
      f.silence(dead);
      f.stop(dead);
      f.elapse(OFFLINE_AFTER.plusMillis(1));

      Pause pause = new Pause(id -> id.hex().equals(docId));
      f.holders.forEach(h -> h.store.beforeUpload = pause);
      pause.during(f.coordinators.get(0)::repairAndCollect,
          List.of(f.coordinators.get(1)::repairAndCollect, f.coordinators.get(2)::repairAndCollect));

      FragmentId doc = new FragmentId(docId);
      assertEquals(1, f.holders.stream().mapToInt(h -> h.store.uploads.getOrDefault(doc, new AtomicInteger()).get())
          .sum(), "one new copy, by one coordinator");
      List<HolderId> copies = f.catalog.documents().document(docId).orElseThrow().holders();
      assertEquals(4, copies.size(), "three good copies and the dead holder's: " + copies);
    }
  }

  /** Coordinator 0 stalls in a DELETE longer than its lease; coordinator 1 takes the round over. */
  @ParameterizedTest
  @MethodSource("backends")
  void garbage_roundThatLostItsLease_sendsNoFurtherDelete(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      Pack a = f.placePack(500);
      Pack b = f.placePack(501);
      Holder returned = holderOfBoth(f, a, b);
      f.silence(returned);
      f.elapse(OFFLINE_AFTER.plusMillis(1));
      f.coordinators.get(1).repairer().repairOnce();
      f.resume(returned);
      List<FragmentId> garbage = new ArrayList<>();
      for (Pack p : List.of(a, b)) {
        for (FragmentPlacement x : f.catalog.placements(p.id())) {
          if (x.holderId().equals(returned.id()) && x.state() == FragmentState.SUPERSEDED) {
            garbage.add(new FragmentId(x.fragmentId()));
          }
        }
      }
      assertEquals(2, garbage.size());

      Pause pause = new Pause(id -> true);
      returned.store.beforeDelete = pause;
      AtomicInteger taken = new AtomicInteger();
      pause.during(() -> f.coordinators.get(0).collector().collectOnce(), List.of(() -> {
        f.elapse(SharedWork.LEASE.plusMillis(1)); // coordinator 0 is stalled past its lease
        taken.set(f.coordinators.get(1).collector().collectOnce());
        return null;
      }));

      assertEquals(2, taken.get(), "coordinator 1 took the round over and collected both");
      FragmentId stalledOn = garbage.stream().filter(id -> pause.at.get().equals(id)).findFirst().orElseThrow();
      for (FragmentId id : garbage) {
        assertFalse(returned.has(id.hex()));
        assertEquals(id.equals(stalledOn) ? 2 : 1, returned.store.deletes.get(id).get(),
            "coordinator 0 finished the DELETE it was in (a no-op now), and sent none after it lost its lease");
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void coordinatorDyingMidRepair_itsPackIsRepairedByAnotherOnceTheClaimExpires(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      Pack pack = f.placePack(600);
      Holder dead = f.holderOf(pack, 1);
      f.silence(dead);
      f.stop(dead);
      f.elapse(OFFLINE_AFTER.plusMillis(1));

      Pause pause = new Pause(id -> true);
      f.holders.forEach(h -> h.store.beforeUpload = pause);
      pause.during(f.coordinators.get(0)::repairAndCollect, List.of(() -> {
        f.kill(0);
        return null;
      }));
      List<Repairer.Round> before = concurrently(List.of(f.coordinators.get(1)::repairAndCollect,
          f.coordinators.get(2)::repairAndCollect));
      assertEquals(0, before.stream().mapToLong(Repairer.Round::fragmentsRebuilt).sum(), "still claimed by the dead");
      assertEquals(Set.of(0, 2, 3, 4, 5), f.counted(pack));

      f.elapse(Repairer.CLAIM.plusMillis(1));
      List<Repairer.Round> after = concurrently(List.of(f.coordinators.get(1)::repairAndCollect,
          f.coordinators.get(2)::repairAndCollect));
      assertEquals(1, after.stream().mapToLong(Repairer.Round::fragmentsRebuilt).sum(), after.toString());
      assertEquals(WHOLE, f.counted(pack));
      assertEquals(TOTAL, f.catalog.placements(pack.id()).stream().filter(FragmentPlacement::stored).count());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void coordinatorDyingMidAudit_itsHolderIsAuditedByAnotherOnceTheClaimExpires(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      for (int seed = 0; seed < 4; seed++) {
        f.placePack(700 + seed);
      }
      List<Holder> audited = withFragments(f);
      Pause pause = new Pause(id -> true);
      f.holders.forEach(h -> h.store.beforeOpen = pause);
      pause.during(f.coordinators.get(0).auditor()::auditOnce, List.of(() -> {
        f.kill(0);
        return null;
      }));
      Holder orphaned = null;
      for (Holder h : f.holders) {
        if (h.has(pause.at.get().hex())) {
          orphaned = h; // the holder coordinator 0 was auditing when it died
        }
      }

      concurrently(List.of(f.coordinators.get(1).auditor()::auditOnce, f.coordinators.get(2).auditor()::auditOnce));
      for (Holder h : audited) {
        assertEquals(h == orphaned ? 0 : 1, f.catalog.auditResults(h.id()).size(), h.toString());
      }

      f.elapse(SharedWork.LEASE.plusMillis(1));
      concurrently(List.of(f.coordinators.get(1).auditor()::auditOnce, f.coordinators.get(2).auditor()::auditOnce));
      // Coordinator 0 audits up to Auditor.AT_ONCE holders at once: those it recorded but could not
      // mark done before it died are audited again once their claims expire (an audit repeated is
      // harmless); the orphaned holder is audited exactly once, by another.
      for (Holder h : audited) {
        int n = f.catalog.auditResults(h.id()).size();
        if (h == orphaned) {
          assertEquals(1, n, "the holder coordinator 0 died auditing: " + h);
        } else {
          assertTrue(n == 1 || n == 2, "audited once, or again after its claim expired: " + n + " for " + h);
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void coordinatorDyingMidCollection_itsRoundIsTakenOverOnceItsLeaseExpires(String backend) throws Exception {
    try (CoordinatorFixture f = three(backend)) {
      Pack pack = f.placePack(800);
      Holder returned = supersede(f, pack, 4);
      FragmentId garbage = new FragmentId(pack.fragmentId(4));

      Pause pause = new Pause(id -> true);
      returned.store.beforeDelete = pause;
      pause.during(f.coordinators.get(0)::repairAndCollect, List.of(() -> {
        f.kill(0);
        return null;
      }));
      concurrently(List.of(f.coordinators.get(1)::repairAndCollect, f.coordinators.get(2)::repairAndCollect));
      assertTrue(f.row(pack, 4, returned).isPresent(), "the dead coordinator's round is not repeated before its lease expires");

      f.elapse(SharedWork.LEASE.plusMillis(1));
      concurrently(List.of(f.coordinators.get(1)::repairAndCollect, f.coordinators.get(2)::repairAndCollect));
      assertTrue(f.row(pack, 4, returned).isEmpty(), "collected and forgotten by the coordinator that took over");
      assertEquals(1, f.coordinators.stream().skip(1).mapToLong(c -> c.metrics().garbageDeleted.sum()).sum());
      assertEquals(2, returned.store.deletes.get(garbage).get(), "the dead one's DELETE, and a repeat that found nothing");
      assertEquals(WHOLE, f.counted(pack));
    }
  }

  /** Holder of fragment {@code index} goes silent, the fragment is rebuilt elsewhere, and it comes back: garbage. */
  private static Holder supersede(CoordinatorFixture f, Pack pack, int index) throws Exception {
    Holder away = f.holderOf(pack, index);
    f.silence(away);
    f.elapse(OFFLINE_AFTER.plusMillis(1));
    assertEquals(1, f.coordinators.get(1).repairer().repairOnce().fragmentsRebuilt());
    f.resume(away);
    assertEquals(FragmentState.SUPERSEDED, f.row(pack, index, away).orElseThrow().state());
    return away;
  }

  private static Holder busiest(CoordinatorFixture f, List<Pack> packs) throws Exception {
    List<Holder> byLoad = new ArrayList<>(f.holders);
    byLoad.sort(Comparator.comparingInt((Holder h) -> {
      try {
        return lostWith(f, packs, h);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }).reversed());
    return byLoad.getFirst();
  }

  private static int lostWith(CoordinatorFixture f, List<Pack> packs, Holder h) throws Exception {
    int n = 0;
    for (Pack p : packs) {
      n += (int) f.catalog.placements(p.id()).stream().filter(x -> x.stored() && x.holderId().equals(h.id())).count();
    }
    return n;
  }

  private static Holder holderOfBoth(CoordinatorFixture f, Pack a, Pack b) throws Exception {
    for (Holder h : f.holders) {
      if (lostWith(f, List.of(a), h) == 1 && lostWith(f, List.of(b), h) == 1) {
        return h;
      }
    }
    throw new IllegalStateException("no holder with fragments of both packs");
  }

  private static List<Holder> withFragments(CoordinatorFixture f) throws Exception {
    List<Holder> with = new ArrayList<>();
    for (Holder h : f.holders) {
      if (f.catalog.custody().storedFragments(h.id()) > 0) {
        with.add(h);
      }
    }
    return with;
  }

  private static void assertAudits(CoordinatorFixture f, List<Holder> holders, int expected) throws Exception {
    for (Holder h : holders) {
      assertEquals(expected, f.catalog.auditResults(h.id()).size(), "audits of " + h);
    }
  }

  private static <T> List<T> concurrently(List<Callable<T>> work) throws Exception {
    try (ExecutorService pool = Executors.newFixedThreadPool(work.size())) {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<T>> running = new ArrayList<>();
      for (Callable<T> w : work) {
        running.add(pool.submit(() -> {
          start.await();
          return w.call();
        }));
      }
      start.countDown();
      List<T> results = new ArrayList<>();
      for (Future<T> r : running) {
        results.add(r.get(2, TimeUnit.MINUTES));
      }
      return results;
    }
  }

  /**
   * A hook that stops the first call matching {@code where} until the test lets it go: the work
   * that made the call is paused there, mid-round.
   */
  private static final class Pause implements Consumer<FragmentId> {
    private final Predicate<FragmentId> where;
    private final AtomicBoolean fired = new AtomicBoolean();
    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch go = new CountDownLatch(1);
    final java.util.concurrent.atomic.AtomicReference<FragmentId> at = new java.util.concurrent.atomic.AtomicReference<>();

    Pause(Predicate<FragmentId> where) {
      this.where = where;
    }

    @Override
    public void accept(FragmentId id) {
      if (!where.test(id) || !fired.compareAndSet(false, true)) {
        return;
      }
      at.set(id);
      reached.countDown();
      try {
        go.await(2, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /**
     * Runs {@code paused} until it reaches the pause, then {@code meanwhile} all at once, then
     * lets {@code paused} go on. Returns what each returned ({@code paused}'s first; null where
     * it failed, as a killed coordinator's round does).
     */
    @SuppressWarnings("unchecked")
    <T> List<T> during(Callable<T> paused, List<Callable<T>> meanwhile) throws Exception {
      try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
        Future<T> first = pool.submit(paused);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!reached.await(50, TimeUnit.MILLISECONDS)) {
          if (first.isDone() || System.nanoTime() > deadline) {
            first.get(1, TimeUnit.SECONDS); // it ended without pausing: show why
            throw new AssertionError("the paused work never reached its pause");
          }
        }
        List<T> results = new ArrayList<>();
        try {
          results.addAll(concurrently(meanwhile));
        } finally {
          go.countDown();
        }
        T own;
        try {
          own = first.get(2, TimeUnit.MINUTES);
        } catch (java.util.concurrent.ExecutionException e) {
          own = null;
        }
        results.addFirst(own);
        return results.stream().filter(java.util.Objects::nonNull).map(r -> (T) r).toList();
      }
    }
  }
}
