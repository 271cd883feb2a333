package dev.narvault.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.repair.policy.HolderRules;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Repair claims name their owner: two coordinators with one key on one port (two machines set up
 * alike) never share a name, and a restarted coordinator keeps its own.
 */
class ClaimOwnerTest {
  @TempDir
  Path dir;

  private static CoordinatorConfig config(NixSecretKey key, Path workDir, String owner) {
    return new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 7000), key, List.of(), Optional.empty(),
        new HolderRules(Duration.ofHours(24), Duration.ZERO), 2, Duration.ZERO, Duration.ZERO, 0,
        Duration.ofMinutes(5), workDir).withOwner(owner);
  }

  @Test
  void claimOwner_sameKeyAndPortOnTwoMachines_differs_andSurvivesARestart() throws Exception {
    NixSecretKey key = NixSecretKey.generate("coordinator-1", new java.security.SecureRandom());
    String first = Coordinator.claimOwner(config(key, dir.resolve("machine-a"), ""));
    String second = Coordinator.claimOwner(config(key, dir.resolve("machine-b"), ""));
    assertNotEquals(first, second);
    assertTrue(first.startsWith("repair-"), first);
    assertEquals(first, Coordinator.claimOwner(config(key, dir.resolve("machine-a"), "")), "the same after a restart");
    assertEquals("ops-1", Coordinator.claimOwner(config(key, dir.resolve("machine-a"), "ops-1")), "a given name wins");
  }
}
