package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Pending packs, on every backend (SQLite, and PostgreSQL when CI starts one). */
class PendingPacksContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void pending_untilItsTime_thenNot(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PendingPacks pending = c.pendingPacks();
      assertFalse(pending.pending(new PackId("p1"), 0), "never registered");
      pending.renew(new PackId("p1"), "w1", 1_000);
      assertTrue(pending.pending(new PackId("p1"), 999));
      assertTrue(pending.pending(new PackId("p1"), 1_000));
      assertFalse(pending.pending(new PackId("p1"), 1_001), "its worker stopped renewing");
      assertFalse(pending.pending(new PackId("p2"), 0), "only the pack registered");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void renew_extends_neverShortens_andRegistersAgainAfterExpiry(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PendingPacks pending = c.pendingPacks();
      pending.renew(new PackId("p1"), "w1", 1_000);
      pending.renew(new PackId("p1"), "w1", 5_000);
      assertTrue(pending.pending(new PackId("p1"), 4_000));
      pending.renew(new PackId("p1"), "w2", 2_000);
      assertTrue(pending.pending(new PackId("p1"), 4_000), "a second worker placing the same pack does not shorten it");
      pending.renew(new PackId("p1"), "w1", 9_000);
      assertTrue(pending.pending(new PackId("p1"), 8_000));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void extend_aliveMark_isExtended_butALapsedOrMissingOneIsNotRevived(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PendingPacks pending = c.pendingPacks();
      pending.renew(new PackId("p1"), "w1", 1_000);
      assertTrue(pending.extend(new PackId("p1"), "w1", 2_000, 1_000), "alive at 1000");
      assertTrue(pending.pending(new PackId("p1"), 2_000));
      assertTrue(pending.extend(new PackId("p1"), "w1", 1_500, 1_200), "never shortened");
      assertTrue(pending.pending(new PackId("p1"), 2_000));
      assertFalse(pending.extend(new PackId("p1"), "w1", 9_000, 2_001), "lapsed at 2001");
      assertFalse(pending.pending(new PackId("p1"), 2_001), "and not revived");
      assertFalse(pending.extend(new PackId("p2"), "w1", 9_000, 0), "never registered");
      assertFalse(pending.pending(new PackId("p2"), 0));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void finish_endsIt_andRepeatingIsHarmless(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      PendingPacks pending = c.pendingPacks();
      pending.renew(new PackId("p1"), "w1", 1_000);
      pending.renew(new PackId("p2"), "w1", 1_000);
      pending.finish(new PackId("p1"));
      pending.finish(new PackId("p1"));
      pending.finish(new PackId("never-registered"));
      assertFalse(pending.pending(new PackId("p1"), 0));
      assertTrue(pending.pending(new PackId("p2"), 0), "other packs stay pending");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void renew_withoutPackOrWorker_isRefused(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      assertThrows(IllegalArgumentException.class, () -> c.pendingPacks().renew(new PackId(""), "w1", 1));
      assertThrows(IllegalArgumentException.class, () -> c.pendingPacks().renew(new PackId("p1"), "", 1));
    }
  }
}
