package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder learns its standing from each heartbeat's answer: its state and vetting progress,
 * scores, warnings it can act on. `/v1/status` shows it and `narvault holder-status` prints it.
 */
class HolderStandingTest {
  @TempDir
  Path dir;

  private final NixSecretKey coordinatorKey = NixSecretKey.generate("coordinator-1", new SecureRandom());

  @Test
  void heartbeatAnswer_tellsTheHolderItsStanding_withAWarningForAClockThatIsOff() throws Exception {
    // Vetting as a public coordinator has it: 100 audits over 3 days.
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.empty(), new HolderRules(Duration.ofHours(24), HolderRules.Vetting.DEFAULT), -1, Duration.ZERO,
        Duration.ZERO, 0, Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders();
    // The holder's clock runs 90 s ahead: accepted (within 5 minutes), but worth a warning.
    InstantSource ahead = () -> Instant.now().plusSeconds(90);
    Path data = dir.resolve("holder");
    HolderConfig holderConfig = HolderConfig.of(new InetSocketAddress("127.0.4.1", 0), data, 1L << 30,
        coordinatorKey.publicKey()).withHeartbeat(Duration.ofMillis(200));
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = Coordinator.start(config, catalog, InstantSource.system());
        HolderServer holder = HolderServer.start(holderConfig.withCoordinator(coordinator.endpoint()),
            DiskFragmentStore.open(data, 1L << 30), ahead)) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (holder.standing().state().equals("unknown") && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      HolderMessages.Standing s = holder.standing();
      assertEquals(holder.holderId(), s.holderId());
      assertEquals("vetting", s.state());
      assertEquals(false, s.vetted());
      assertEquals(100, s.auditsToVet());
      assertEquals("127.0.4.1", s.provenAddress());
      assertTrue(s.clockSkewMillis() > 80_000 && s.clockSkewMillis() < 100_000, "skew " + s.clockSkewMillis());
      assertTrue(s.warnings().stream().anyMatch(w -> w.contains("ahead of the coordinator's")), s.warnings().toString());

      HolderMessages.Status status = new HolderClient(Duration.ofSeconds(5)).status(holder.endpoint());
      assertEquals("vetting", status.standing().state(), "the holder's /v1/status carries it");

      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
          .execute("holder-status", "--data-dir", data.toString());
      String printed = out.toString(StandardCharsets.UTF_8);
      assertEquals(0, exit, printed);
      assertTrue(printed.contains("state:                vetting (vetting: "), printed);
      assertTrue(printed.contains("of 100 audits passed"), printed);
      assertTrue(printed.contains("ahead of the coordinator's"), printed);
    }
  }

  @Test
  void holderStatus_withoutAnAnswerYet_exitsOne() {
    int exit = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .execute("holder-status", "--data-dir", dir.toString());
    assertEquals(1, exit);
  }
}
