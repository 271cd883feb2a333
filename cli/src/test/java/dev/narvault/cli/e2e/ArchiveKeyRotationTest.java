package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackId;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import dev.narvault.repair.Repairer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive key rotated, end to end: packs signed by the first key stay readable while new ones
 * are signed by the second. Readers that trust both keys (the drain, the gateway, repair, catalog
 * rebuild) take both kinds of pack; one that trusts only the new key refuses the old key's
 * manifests: the drain leaves their NARs in S3, the gateway cannot serve them, repair does not
 * touch them and a rebuild does not restore them.
 */
class ArchiveKeyRotationTest {
  @TempDir
  Path dir;

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void packsOfBothKeys_areReadByWhoeverTrustsBoth_andOnlyTheNewOnesByWhoeverTrustsOnlyTheNewKey() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofMillis(1200))) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, cluster.objects)
          .generate(List.of(30_000, 50_000, 70_000, 90_000), 71, 2);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      NixSecretKey key1 = cluster.archiveKey;
      NixSecretKey key2 = NixSecretKey.generate("test-archive-2", new SecureRandom());
      TrustedKeys both = TrustedKeys.of(key1.publicKey(), key2.publicKey());
      TrustedKeys onlyNew = TrustedKeys.of(key2.publicKey());

      // Two packs signed by key 1 (archived, not drained yet), then the key is rotated.
      assertEquals(2, cluster.migrate(cacheKey.publicKey(), 4, 2, 2, 1).packs());
      Set<PackId> oldPacks = packs(cluster);
      cluster.archiveKey = key2;

      // A drain that trusts only key 2 archives the rest under key 2 and drains it, but cannot read
      // key 1's packs back: their NARs stay in S3.
      MigrationSummary onlyNewDrain = migrate(cluster, cacheKey, DrainConfig.delete(onlyNew));
      assertEquals(2, onlyNewDrain.narsArchived(), onlyNewDrain.toString());
      assertEquals(2, onlyNewDrain.drain().objects(), onlyNewDrain.toString());
      assertEquals(2, onlyNewDrain.drain().pendingObjects(), "key 1's NARs wait, still in S3: " + onlyNewDrain);
      Set<PackId> newPacks = packs(cluster);
      newPacks.removeAll(oldPacks);
      assertEquals(2, newPacks.size());
      for (CacheGenerator.GeneratedPath p : paths) {
        boolean old = oldPacks.contains(
            cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow().packId());
        assertEquals(old, DrainTest.exists(cluster, p.narKey()), p.narKey() + (old ? " (key 1)" : " (key 2)"));
      }

      // Trusting both keys, the drain reads key 1's packs back too.
      MigrationSummary bothDrain = migrate(cluster, cacheKey, DrainConfig.delete(both));
      assertEquals(2, bothDrain.drain().objects(), bothDrain.toString());
      for (CacheGenerator.GeneratedPath p : paths) {
        assertFalse(DrainTest.exists(cluster, p.narKey()), "only the archive has " + p.narKey());
      }

      // The gateway: trusting both, every NAR; trusting only key 2, none of key 1's.
      try (GatewayServer gateway = gateway(cluster, both); GatewayServer strict = gateway(cluster, onlyNew)) {
        for (CacheGenerator.GeneratedPath p : paths) {
          boolean old = oldPacks.contains(cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow()
              .packId());
          HttpResponse<byte[]> nar = get(gateway.endpoint(), p.narKey());
          assertEquals(200, nar.statusCode(), p.narKey());
          assertArrayEquals(original.get(p.narKey()), nar.body());
          assertEquals(old ? 503 : 200, get(strict.endpoint(), p.narKey()).statusCode(),
              p.narKey() + (old ? ": key 1's manifest is not trusted" : ""));
        }
      }

      // Repair: two holders go; a coordinator trusting only key 2 repairs key 2's packs alone.
      cluster.stopCoordinator();
      cluster.startCoordinatorAgain(Optional.of(onlyNew));
      // Two holders that each hold a fragment of an old and of a new pack: both lose two of six.
      Set<Integer> shared = holdersOf(cluster, oldPacks.iterator().next());
      shared.retainAll(holdersOf(cluster, newPacks.iterator().next()));
      shared.stream().limit(2).forEach(cluster::stopHolder);
      Thread.sleep(1600);
      Set<PackId> degraded = new HashSet<>();
      cluster.coordinator.repairer().queue().forEach(q -> degraded.add(q.packId()));
      Set<PackId> degradedOld = new HashSet<>(degraded);
      degradedOld.retainAll(oldPacks);
      assertFalse(degradedOld.isEmpty() || degradedOld.size() == degraded.size(),
          "packs of both keys are degraded: " + degraded);
      Repairer.Round strictRound = cluster.coordinator.repairer().repairOnce();
      assertEquals(degraded.size() - degradedOld.size(), strictRound.repaired(), strictRound.toString());
      assertEquals(degradedOld.size(), strictRound.failed(), "key 1's packs are not trusted: " + strictRound);

      cluster.stopCoordinator();
      cluster.startCoordinatorAgain(Optional.of(both));
      Repairer.Round round = cluster.coordinator.repairer().repairOnce();
      assertEquals(degradedOld.size(), round.repaired(), round.toString());
      assertEquals(0, round.failed(), round.toString());
      assertEquals(0, cluster.coordinator.repairer().queue().size());

      // Catalog rebuild: trusting only key 2 restores key 2's packs alone; trusting both, all.
      cluster.loseCatalog();
      cluster.awaitRegistered();
      String onlyNewCatalog = "jdbc:sqlite:" + dir.resolve("only-new.db");
      String strictRebuild = rebuild(cluster, onlyNewCatalog, key2);
      assertTrue(strictRebuild.contains("2 packs, 2 NARs"), strictRebuild);
      String fullRebuild = rebuild(cluster, cluster.catalogUrl, key1, key2);
      assertTrue(fullRebuild.contains("4 packs, 4 NARs"), fullRebuild);
      try (GatewayServer gateway = gateway(cluster, both)) {
        for (CacheGenerator.GeneratedPath p : paths) {
          assertArrayEquals(original.get(p.narKey()), get(gateway.endpoint(), p.narKey()).body(), p.narKey());
        }
      }
    }
  }

  /** Migrates what is not archived yet, one NAR a pack, and drains as told. */
  private static MigrationSummary migrate(Cluster cluster, NixSecretKey cacheKey, DrainConfig drain) throws Exception {
    return cluster.migrate(new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), 4, 2, 1,
        PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), cluster.dir.resolve("work"), 0)
        .with(ColdSelection.ALL, drain));
  }

  private static Set<Integer> holdersOf(Cluster cluster, PackId packId) throws Exception {
    Set<Integer> holders = new HashSet<>();
    for (int i = 0; i < 6; i++) {
      holders.add(cluster.holderOf(packId, i));
    }
    return holders;
  }

  private static Set<PackId> packs(Cluster cluster) throws Exception {
    return new HashSet<>(cluster.catalog.custody().packIds("", 100));
  }

  private static GatewayServer gateway(Cluster cluster, TrustedKeys keys) throws Exception {
    return GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50),
        new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), Optional.of(keys)), cluster.objects);
  }

  private HttpResponse<byte[]> get(URI gateway, String key) throws Exception {
    return http.send(HttpRequest.newBuilder(gateway.resolve("/" + key)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** {@code narvault catalog-rebuild} into {@code catalog}, trusting {@code keys}; answers what it printed. */
  private static String rebuild(Cluster cluster, String catalog, NixSecretKey... keys) {
    List<String> args = new java.util.ArrayList<>(List.of("catalog-rebuild", "--coordinator",
        cluster.coordinator.endpoint().toString(), "--catalog", catalog));
    for (NixSecretKey k : keys) {
      args.add("--archive-public-key");
      args.add(k.publicKey().toString());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
        .execute(args.toArray(String[]::new));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, printed);
    return printed;
  }
}
