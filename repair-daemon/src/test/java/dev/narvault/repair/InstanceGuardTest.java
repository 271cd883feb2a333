package dev.narvault.repair;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes under one owner name would take each other's claims as their own: the second
 * waits while the first runs, and gets the name once the first lets go or its lease runs out.
 */
class InstanceGuardTest {
  @TempDir
  Path dir;

  @Test
  void aSecondProcessOfOneOwnerName_isRefused_untilTheFirstLetsGoOrItsLeaseRunsOut() throws Exception {
    AtomicLong now = new AtomicLong(1_000_000);
    java.time.InstantSource clock = () -> Instant.ofEpochMilli(now.get());
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      InstanceGuard first = InstanceGuard.acquire(catalog.leases(), "repair-a", clock, Duration.ZERO);
      assertTrue(first.held());
      IllegalStateException refused = assertThrows(IllegalStateException.class,
          () -> InstanceGuard.acquire(catalog.leases(), "repair-a", clock, Duration.ZERO));
      assertTrue(refused.getMessage().contains("'repair-a'"), refused.getMessage());
      // Another name is another coordinator: no conflict.
      InstanceGuard other = InstanceGuard.acquire(catalog.leases(), "repair-b", clock, Duration.ZERO);
      other.close();

      first.close();
      InstanceGuard second = InstanceGuard.acquire(catalog.leases(), "repair-a", clock, Duration.ZERO);
      assertTrue(second.held(), "a clean stop lets go at once");

      // A process that dies without letting go: its name is free once its lease ran out.
      now.addAndGet(InstanceGuard.LEASE.toMillis() - 1);
      assertThrows(IllegalStateException.class,
          () -> InstanceGuard.acquire(catalog.leases(), "repair-a", clock, Duration.ZERO));
      now.addAndGet(2);
      InstanceGuard third = InstanceGuard.acquire(catalog.leases(), "repair-a", clock, Duration.ZERO);
      assertTrue(third.held());
      third.close();
    }
  }
}
