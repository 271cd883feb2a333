package dev.narvault.encoder;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker's pending packs and object claims stay alive while it renews them, and only then. */
class WorkerLeasesTest {
  private static final Duration LIFETIME = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  private final DrainerTest.FakeClock clock = new DrainerTest.FakeClock(1_000_000);

  @Test
  void whilePending_thePackIsPendingDuringTheWork_andNotAfter() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      assertEquals("placed", leases.whilePending(new PackId("p1"), () -> {
        assertTrue(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "registered before the work starts");
        return "placed";
      }));
      assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "finished once committed");
    }
  }

  @Test
  void whilePending_aFailedPlacement_isNotLeftPending() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      assertThrows(IOException.class, () -> leases.whilePending(new PackId("p1"), () -> {
        throw new IOException("no holders");
      }));
      assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "its fragments may be collected now");
    }
  }

  @Test
  void renew_keepsASlowPlacementPendingPastItsLifetime_andTheClaimsTaken() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      assertTrue(catalog.journal().claimObject("nar/a.nar", "w1", clock.millis(), clock.millis() + LIFETIME.toMillis()));
      leases.whilePending(new PackId("p1"), () -> {
        // Ten lifetimes of slow uploads, renewed on the rhythm.
        for (int i = 0; i < 40; i++) {
          clock.advance(leases.renewEvery().toMillis());
          leases.renew();
          assertTrue(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()));
          assertFalse(catalog.journal().claimObject("nar/a.nar", "w2", clock.millis(), clock.millis() + 1),
              "another worker leaves the object alone");
        }
        return null;
      });
      assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()));
    }
  }

  @Test
  void aWorkerThatStopsRenewing_losesItsPendingPacksWithinTheLifetime() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      leases.whilePending(new PackId("p1"), () -> {
        clock.advance(LIFETIME.toMillis() + 1);
        assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "dead workers are not waited for");
        return null;
      });
    }
  }

  @Test
  void checkHeld_whileRenewed_passes_butAMarkThatLapsedIsNeitherRevivedNorCommitted() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      leases.whilePending(new PackId("p1"), () -> {
        for (int i = 0; i < 8; i++) {
          clock.advance(leases.renewEvery().toMillis());
          leases.renew();
        }
        leases.checkHeld(new PackId("p1"));
        // The catalog was out of reach of this worker for a whole lifetime (renewals failed), and
        // garbage collection, which could reach it, saw the pack as abandoned.
        clock.advance(LIFETIME.toMillis() + 1);
        assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()));
        leases.renew();
        assertFalse(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "a lapsed mark is not revived");
        IOException refused = assertThrows(IOException.class, () -> leases.checkHeld(new PackId("p1")));
        assertTrue(refused.getMessage().contains("not committing"), refused.getMessage());
        // Renewals that work again do not make it safe: fragments may be gone already.
        clock.advance(leases.renewEvery().toMillis());
        leases.renew();
        assertThrows(IOException.class, () -> leases.checkHeld(new PackId("p1")));
        return null;
      });
    }
  }

  @Test
  void checkHeld_afterRenewalsFailedForAlmostALifetime_refusesBeforeTheMarkLapses() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      WorkerLeases leases = new WorkerLeases(catalog, "w1", LIFETIME, clock);
      leases.whilePending(new PackId("p1"), () -> {
        clock.advance(LIFETIME.toMillis() - leases.renewEvery().toMillis() + 1);
        assertTrue(catalog.pendingPacks().pending(new PackId("p1"), clock.millis()), "still pending");
        assertThrows(IOException.class, () -> leases.checkHeld(new PackId("p1")), "too close to lapsing to commit");
        return null;
      });
      assertThrows(IOException.class, () -> leases.checkHeld(new PackId("never-pending")));
    }
  }

  @Test
  void renewEvery_isAQuarterOfTheLifetime() {
    assertEquals(Duration.ofSeconds(15), new WorkerLeases(null, "w", LIFETIME, clock).renewEvery());
    assertEquals(Duration.ofMillis(250), new WorkerLeases(null, "w", Duration.ofMillis(400), clock).renewEvery());
  }
}
