package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder with a volunteer's defaults (bound to 0.0.0.0, no --advertise) joins by itself, at the
 * address the coordinator sees; one the coordinator refuses stops and exits 78 (EX_CONFIG) saying why, instead
 * of retrying forever.
 */
class HolderJoiningTest {
  @TempDir
  Path dir;

  private final NixSecretKey coordinatorKey = NixSecretKey.generate("coordinator-1", new SecureRandom());

  private Coordinator coordinator(Catalog catalog, boolean loopbackIsFine) throws Exception {
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.empty(), new HolderRules(Duration.ofHours(1), Duration.ZERO), -1, Duration.ZERO, Duration.ZERO, 0,
        Duration.ofMinutes(5), dir.resolve("repair-work"));
    return Coordinator.start(loopbackIsFine ? config.allowingPrivateHolders() : config, catalog, InstantSource.system());
  }

  @Test
  void holderOnAWildcardAddress_advertisesWhatTheCoordinatorSees_andJoins() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = coordinator(catalog, true);
        HolderServer holder = HolderServer.start(HolderConfig.of(new InetSocketAddress("0.0.0.0", 0),
                dir.resolve("holder"), 1L << 30, coordinatorKey.publicKey())
            .withCoordinator(coordinator.endpoint()).withHeartbeat(Duration.ofMillis(200)))) {
      HolderId id = new HolderId(holder.holderId());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (catalog.holder(id).isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      HolderRecord joined = catalog.holder(id).orElseThrow(() -> new AssertionError("never joined"));
      String expected = "http://127.0.0.1:" + holder.address().getPort();
      assertEquals(expected, joined.endpoint(), "the address the coordinator saw, at the bound port");
      assertEquals(expected, holder.advertised().toString());
      assertEquals("127.0.0.1", joined.seenAddress(), "proven there");
      assertTrue(holder.failure().isEmpty());
    }
  }

  @Test
  void holderTheCoordinatorRefuses_exitsWithExConfig_sayingWhy() throws Exception {
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        Coordinator coordinator = coordinator(catalog, false)) {
      StringWriter err = new StringWriter();
      var cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      cli.setErr(new PrintWriter(err, true));
      PrintStream savedErr = System.err;
      ByteArrayOutputStream stderr = new ByteArrayOutputStream();
      System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
      int exit;
      try {
        exit = CompletableFuture.supplyAsync(() -> cli.execute("holder", "--bind", "0.0.0.0", "--port", "0",
            "--data-dir", dir.resolve("holder").toString(), "--coordinator-public-key",
            coordinatorKey.publicKey().toString(), "--coordinator", coordinator.endpoint().toString(),
            "--heartbeat-seconds", "1", "--dashboard-port", "0")).get(60, TimeUnit.SECONDS);
      } finally {
        System.setErr(savedErr);
      }
      String said = stderr.toString(StandardCharsets.UTF_8);
      assertEquals(78, exit, said);
      assertTrue(said.contains("refused to register this holder at http://127.0.0.1:"), said);
      assertTrue(said.contains("--advertise"), "says what to do: " + said);
      assertTrue(catalog.holders().isEmpty());
    }
  }
}
