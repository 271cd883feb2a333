package dev.narvault.cli.e2e;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.repair.Repairer;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two ways the archive lost drained paths among strangers, replayed with the real binaries and
 * the real Nix: a stranger with many identities in one wider network that vanishes, and holders
 * that come back after the holders that replaced them left for good. In both, S3's copies of the
 * NARs are drained first, so every byte Nix gets comes from holders.
 */
class CustodyTest {
  private static final Duration OFFLINE_AFTER = Duration.ofMillis(1500);
  private static final long TIB = 1L << 40;

  @TempDir
  Path dir;

  @BeforeEach
  void needsNix() {
    assumeTrue(RealNix.available(), "nix-store is not installed (.ci/run installs nix-bin)");
  }

  /** Nix-made paths uploaded to the cluster's bucket, every NAR aged so the drain takes it. */
  private NixCache coldCache(Cluster cluster, int batches) throws Exception {
    NixCache nix = NixCache.create(dir.resolve("nix"));
    for (int i = 0; i < batches; i++) {
      nix.addPaths(dir.resolve("nix"), i % 2 == 0 ? "xz" : "zstd");
    }
    Path cacheDir = nix.cacheDir(dir.resolve("nix"));
    cluster.upload(cacheDir);
    for (StorePath p : nix.paths) {
      DrainTest.age(cluster, NixCache.narInfo(cacheDir, p).url(), Duration.ofDays(200));
    }
    return nix;
  }

  /** Migrates RS(4,4) in packs of about {@code packSize} bytes and deletes the drained NARs from S3. */
  private MigrationSummary migrateAndDrain(Cluster cluster, NixCache nix, long packSize) throws Exception {
    MigrationSummary summary = cluster.migrate(new MigrateConfig(TrustedKeys.of(nix.publicKey), 4, 4, packSize,
        PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), cluster.dir.resolve("work"), 0)
        .with(new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.empty()),
            DrainConfig.delete(cluster.trustedArchiveKeys())));
    assertEquals(nix.paths.size(), summary.narsArchived(), summary.toString());
    assertEquals(nix.paths.size(), summary.drain().objects(), "every NAR drained: " + summary);
    Path cacheDir = nix.cacheDir(dir.resolve("nix"));
    for (StorePath p : nix.paths) {
      assertTrue(!DrainTest.exists(cluster, NixCache.narInfo(cacheDir, p).url()), p + " drained from S3");
    }
    return summary;
  }

  /** The real Nix substitutes every path through the gateway, each with its signed NarHash. */
  private static void assertNixGetsEveryPath(Cluster cluster, NixCache nix, Path work) throws Exception {
    URI gateway = cluster.gateway == null ? cluster.startGateway() : cluster.gateway.endpoint();
    nix.deleteLocal();
    RealNix.Result result = RealNix.realise(gateway.toString(), nix.publicKey, nix.paths);
    assertEquals(0, result.exitCode(), result.output());
    Path cacheDir = nix.cacheDir(work);
    for (StorePath p : nix.paths) {
      assertTrue(Files.exists(Path.of(p.toString())), p + " was not substituted");
      assertEquals(NixCache.narInfo(cacheDir, p).narHash(), NixCache.localNarHash(p), p.toString());
    }
  }

  @Test
  void aStrangerWithManyIdentitiesInOneWiderNetwork_vanishes_andNixStillGetsEveryPath() throws Exception {
    Cluster cluster = new Cluster(dir.resolve("cluster"), 0, OFFLINE_AFTER);
    NixCache nix = null;
    try (cluster) {
      // The stranger registers first: 14 identities, each in its own /24 of 127.200/16, each
      // claiming 1000 TiB. Then 10 honest holders, each in a /16 of its own.
      int sybils = 14;
      for (int i = 0; i < sybils; i++) {
        cluster.capacities.put(i, 1000 * TIB);
        cluster.addHolder("127.200." + (i + 1) + ".1", "");
      }
      cluster.awaitRegistered();
      for (int i = 0; i < 10; i++) {
        cluster.addHolder("127." + (i + 1) + ".0.1", "");
      }
      cluster.awaitRegistered();
      Set<String> stranger = new HashSet<>();
      for (int i = 0; i < sybils; i++) {
        stranger.add(cluster.holders.get(i).holderId());
      }

      nix = coldCache(cluster, 2);
      migrateAndDrain(cluster, nix, 1);
      Set<String> packs = new HashSet<>();
      for (StorePath p : nix.paths) {
        packs.add(cluster.catalog.narByStoreHash(p.hashPart()).orElseThrow().packId().hex());
      }
      assertEquals(6, packs.size(), "one pack per NAR");
      for (String packId : packs) {
        List<FragmentPlacement> stored = cluster.catalog.placements(new PackId(packId)).stream()
            .filter(FragmentPlacement::stored).toList();
        assertEquals(8, stored.size(), packId);
        long onStranger = stored.stream().filter(f -> stranger.contains(f.holderId().value())).count();
        assertTrue(onStranger <= 2, "pack " + packId + " has " + onStranger
            + " of its 8 fragments in the stranger's /16 (at most m/2 = 2)");
      }

      // The stranger vanishes with everything it holds.
      for (int i = 0; i < sybils; i++) {
        cluster.stopHolder(i);
      }
      assertNixGetsEveryPath(cluster, nix, dir.resolve("nix"));
    } finally {
      if (nix != null) {
        nix.deleteLocal();
      }
    }
  }

  @Test
  void holdersThatComeBackAfterTheirReplacementsLeft_restoreThePack_andNixGetsEveryPath() throws Exception {
    Cluster cluster = new Cluster(dir.resolve("cluster"), 16, OFFLINE_AFTER);
    NixCache nix = null;
    try (cluster) {
      nix = coldCache(cluster, 1);
      migrateAndDrain(cluster, nix, 64L << 20);
      PackId packId = cluster.catalog.narByStoreHash(nix.paths.getFirst().hashPart()).orElseThrow().packId();
      Map<Integer, Integer> original = new HashMap<>();
      for (int index = 0; index < 8; index++) {
        original.put(index, cluster.holderOf(packId, index));
      }
      Map<Integer, String> fragmentIds = new HashMap<>();
      for (FragmentPlacement p : cluster.catalog.placements(packId)) {
        fragmentIds.put(p.fragmentIndex(), p.fragmentId());
      }

      // Four holders go silent; repair rebuilds their fragments on four others.
      List<Integer> silent = List.of(original.get(0), original.get(1), original.get(2), original.get(3));
      silent.forEach(cluster::stopHolder);
      Thread.sleep(OFFLINE_AFTER.toMillis() + 500);
      Repairer.Round first = cluster.coordinator.repairer().repairOnce();
      assertEquals(4, first.fragmentsRebuilt(), first.toString());
      List<Integer> replacements = new ArrayList<>();
      for (int index = 0; index < 4; index++) {
        replacements.add(cluster.holderOf(packId, index));
      }

      // The replacements and three more original holders leave for good: one stored copy remains,
      // fewer than k, so without the returning copies the pack (and every path in it) is lost.
      replacements.forEach(cluster::stopHolder);
      for (int index = 4; index < 7; index++) {
        cluster.stopHolder(original.get(index));
      }
      Thread.sleep(OFFLINE_AFTER.toMillis() + 500);

      // The silent holders come back with their copies intact.
      silent.forEach(i -> {
        try {
          cluster.restartHolder(i);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      cluster.awaitRegistered();

      // Garbage collection keeps every returning copy: the pack is not whole without them.
      cluster.coordinator.collector().collectOnce();
      for (int index = 0; index < 4; index++) {
        assertTrue(Files.exists(cluster.fragmentFile(silent.get(index), fragmentIds.get(index))),
            "the returning copy of fragment " + index + " was kept");
      }

      // Repair audits the returning copies and counts them again (five of eight, below the repair
      // threshold k + 2), then rebuilds the three fragments that left: the pack is whole again.
      Repairer.Round second = cluster.coordinator.repairer().repairOnce();
      assertEquals(1, second.repaired(), second.toString());
      assertEquals(3, second.fragmentsRebuilt(), "only fragments 4, 5 and 6 needed rebuilding: " + second);
      Set<String> liveHolders = new HashSet<>();
      for (int i = 0; i < cluster.holders.size(); i++) {
        if (cluster.up.get(i)) {
          liveHolders.add(cluster.holders.get(i).holderId());
        }
      }
      Set<Integer> indexes = new HashSet<>();
      for (FragmentPlacement p : cluster.catalog.placements(packId)) {
        if (p.stored() && liveHolders.contains(p.holderId().value())) {
          indexes.add(p.fragmentIndex());
        }
      }
      assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6, 7), indexes, "the pack is whole again on live holders");
      assertEquals(0, cluster.coordinator.repairer().queue().size(), "nothing left to repair");
      assertNixGetsEveryPath(cluster, nix, dir.resolve("nix"));
    } finally {
      if (nix != null) {
        nix.deleteLocal();
      }
    }
  }
}
