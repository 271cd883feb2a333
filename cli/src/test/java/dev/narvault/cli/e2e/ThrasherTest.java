package dev.narvault.cli.e2e;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.archive.Archive;
import dev.narvault.repair.Repairer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thrasher: 24 real holders, RS(6,3), and a seeded random schedule of faults — kill, restart,
 * corrupt a stored fragment, lie on every read, go slow — at most m holders faulty at once, so no
 * pack ever has more than m bad fragments. After each pass every NAR must read back with exactly the bytes S3 has, and at the end
 * the catalog's idea of health must match what is on the holders' disks.
 */
class ThrasherTest {
  private static final int HOLDERS = 24;
  private static final int K = 6;
  private static final int M = 3;
  private static final int ROUNDS = 6;
  private static final Duration OFFLINE_AFTER = Duration.ofMillis(1500);

  @TempDir
  Path dir;

  private enum Fault { KILL, CORRUPT, LIE, SLOW }

  @Test
  void randomFaults_neverLoseANar_norServeAWrongByte() throws Exception {
    long seed = Long.getLong("narvault.thrasher.seed", new SecureRandom().nextLong());
    System.out.println("thrasher seed: " + seed + " (rerun with -Dnarvault.thrasher.seed=" + seed + ")");
    Random random = new Random(seed);
    try (Cluster cluster = new Cluster(dir, HOLDERS, OFFLINE_AFTER)) {
      NixSecretKey key = NixSecretKey.generate("thrash-cache-1", new SecureRandom());
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        sizes.add(2_000 + random.nextInt(300_000));
      }
      new CacheGenerator(key, cluster.objects).generate(sizes, seed, 2);
      // Small packs, so that NARs spread over several packs and holders.
      int archived = cluster.migrate(key.publicKey(), K, M, 0, 1 << 20).narsArchived();
      assertEquals(30, archived);
      Map<String, byte[]> originals = originals(cluster);

      int faults = 0;
      int packsRepaired = 0;
      int lost = 0;
      int wrong = 0;
      Set<Integer> faulty = new HashSet<>();
      for (int round = 0; round < ROUNDS; round++) {
        heal(cluster, faulty, random);
        if (faulty.size() == M) {
          healOne(cluster, faulty, random);
        }
        // At most m holders faulty at once, counting those not healed yet: a liar or a slow holder
        // stays one until healed, and repair does not move a liar's other fragments, so m new
        // faults on top of it could take m + 1 fragments of one pack — a loss the code cannot
        // prevent (seed 1241699760839368530 did that once, in CI).
        int count = 1 + random.nextInt(M - faulty.size());
        for (int f = 0; f < count; f++) {
          int h = pickRunning(cluster, faulty, random);
          // The first fault kills a holder, so that every schedule makes repair work (a seed
          // that drew only slow and lying holders, and one late kill, once left nothing to repair).
          Fault fault = round == 0 && f == 0 ? Fault.KILL : Fault.values()[random.nextInt(Fault.values().length)];
          faulty.add(h);
          faults++;
          switch (fault) {
            case KILL -> cluster.stopHolder(h);
            case CORRUPT -> corruptOneFragment(cluster, h, random);
            case LIE -> cluster.stores.get(h).mode = FaultyStore.Mode.LYING;
            case SLOW -> cluster.stores.get(h).mode = FaultyStore.Mode.SLOW;
          }
        }
        Thread.sleep(OFFLINE_AFTER.toMillis() + 400);
        detect(cluster);
        packsRepaired += repairUntilHealthy(cluster);
        int[] check = readBack(cluster, originals);
        lost += check[0];
        wrong += check[1];
      }
      // The end: every holder back and honest; what the catalog says must be what the disks hold.
      for (int h : faulty) {
        if (!cluster.up.get(h)) {
          cluster.restartHolder(h);
        }
        cluster.stores.get(h).mode = FaultyStore.Mode.HONEST;
      }
      faulty.clear();
      cluster.awaitRegistered();
      detect(cluster);
      packsRepaired += repairUntilHealthy(cluster);
      cluster.coordinator.collector().collectOnce();
      int[] check = readBack(cluster, originals);
      lost += check[0];
      wrong += check[1];
      long bytesMoved = cluster.coordinator.metrics().bytesWritten();
      System.out.printf("thrasher: seed %d, faults injected %d, packs repaired %d, bytes moved %d, NARs lost %d, "
          + "wrong bytes served %d%n", seed, faults, packsRepaired, bytesMoved, lost, wrong);
      assertEquals(0, lost, "NARs lost (seed " + seed + ")");
      assertEquals(0, wrong, "wrong bytes served (seed " + seed + ")");
      assertTrue(packsRepaired > 0, "the schedule made repair work (seed " + seed + ")");
      assertCatalogMatchesDisks(cluster);
    }
  }

  /** Undoes some earlier faults: killed holders come back, liars and slow holders mend their ways. */
  private static void heal(Cluster cluster, Set<Integer> faulty, Random random) throws IOException {
    for (int h : new ArrayList<>(faulty)) {
      if (random.nextBoolean()) {
        continue;
      }
      heal(cluster, faulty, h);
    }
  }

  /** Heals one faulty holder, picked at random. */
  private static void healOne(Cluster cluster, Set<Integer> faulty, Random random) throws IOException {
    List<Integer> all = new ArrayList<>(faulty);
    heal(cluster, faulty, all.get(random.nextInt(all.size())));
  }

  private static void heal(Cluster cluster, Set<Integer> faulty, int h) throws IOException {
    if (!cluster.up.get(h)) {
      cluster.restartHolder(h);
    }
    cluster.stores.get(h).mode = FaultyStore.Mode.HONEST;
    faulty.remove(h);
  }

  /** A running, not yet faulty holder that stores fragments (a fault elsewhere would test nothing). */
  private static int pickRunning(Cluster cluster, Set<Integer> faulty, Random random) throws IOException {
    List<Integer> healthy = new ArrayList<>();
    for (int i = 0; i < cluster.holders.size(); i++) {
      if (cluster.up.get(i) && !faulty.contains(i)
          && cluster.catalog.custody().storedFragments(new HolderId(cluster.holders.get(i).holderId())) > 0) {
        healthy.add(i);
      }
    }
    return healthy.get(random.nextInt(healthy.size()));
  }

  private static void corruptOneFragment(Cluster cluster, int h, Random random) throws IOException {
    var ids = cluster.holders.get(h).store().list();
    if (!ids.isEmpty()) {
      cluster.rot(h, ids.get(random.nextInt(ids.size())).hex());
    }
  }

  /** What runs on its own in production: holders' scrubs and the coordinator's audits. */
  private static void detect(Cluster cluster) throws Exception {
    for (int i = 0; i < cluster.holders.size(); i++) {
      if (cluster.up.get(i)) {
        cluster.holders.get(i).scrubOnce();
      }
    }
    cluster.coordinator.auditor().auditOnce();
    // Scrub reports travel asynchronously: give them a moment to land.
    Thread.sleep(300);
  }

  private static int repairUntilHealthy(Cluster cluster) throws Exception {
    int repaired = 0;
    for (int pass = 0; pass < 6; pass++) {
      // What the coordinator's loop does each round: repair, document copies, rebalancing, GC.
      Repairer.Round round = cluster.coordinator.repairAndCollect();
      repaired += round.repaired();
      if (cluster.coordinator.repairer().queue().isEmpty()) {
        break;
      }
    }
    return repaired;
  }

  private static Map<String, byte[]> originals(Cluster cluster) throws IOException {
    Map<String, byte[]> map = new HashMap<>();
    List<String> keys = new ArrayList<>();
    cluster.objects.list("", o -> {
      if (o.key().endsWith(".narinfo")) {
        keys.add(o.key().substring(0, 32));
      }
    });
    for (String hash : keys) {
      ArchivedNar nar = cluster.catalog.narByStoreHash(hash).orElseThrow();
      try (InputStream in = cluster.objects.open(nar.fileKey())) {
        map.put(hash, in.readAllBytes());
      }
    }
    return map;
  }

  /** Reads every NAR through the archive: {NARs that could not be read, NARs read with wrong bytes}. */
  private static int[] readBack(Cluster cluster, Map<String, byte[]> originals) throws IOException {
    Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
        Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey())));
    int lost = 0;
    int wrong = 0;
    for (Map.Entry<String, byte[]> e : originals.entrySet()) {
      ArchivedNar nar = cluster.catalog.narByStoreHash(e.getKey()).orElseThrow();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      try {
        archive.read(nar, 0, nar.length(), got);
      } catch (IOException failed) {
        lost++;
        System.out.println("thrasher: NAR " + e.getKey() + " unreadable: " + failed.getMessage());
        continue;
      }
      if (!Arrays.equals(e.getValue(), got.toByteArray())) {
        wrong++;
      }
    }
    return new int[] {lost, wrong};
  }

  /** Every fragment the catalog counts as stored on a running holder is on its disk, whole and right. */
  private static void assertCatalogMatchesDisks(Cluster cluster) throws Exception {
    Map<String, Integer> byId = new HashMap<>();
    for (int i = 0; i < cluster.holders.size(); i++) {
      byId.put(cluster.holders.get(i).holderId(), i);
    }
    for (var health : cluster.coordinator.repairer().queue()) {
      throw new AssertionError("pack still queued for repair: " + health);
    }
    Map<Integer, Set<String>> expectedOnDisk = new HashMap<>();
    List<String> packs = new ArrayList<>();
    for (String hash : originals(cluster).keySet()) {
      packs.add(cluster.catalog.narByStoreHash(hash).orElseThrow().packId().hex());
    }
    // Copies the catalog still tracks as custody (superseded or unverified) of a pack that is not
    // whole: garbage collection keeps them until the pack is whole without them.
    Map<Integer, Set<String>> custodyOnDisk = new HashMap<>();
    for (String packId : new HashSet<>(packs)) {
      Set<Integer> stored = new HashSet<>();
      List<FragmentPlacement> rows = cluster.catalog.placements(new PackId(packId));
      boolean whole = rows.stream().filter(FragmentPlacement::stored).map(FragmentPlacement::fragmentIndex)
          .distinct().count() >= K + M;
      for (FragmentPlacement p : rows) {
        if (!whole && (p.state() == FragmentState.SUPERSEDED || p.state() == FragmentState.UNVERIFIED)) {
          custodyOnDisk.computeIfAbsent(byId.get(p.holderId().value()), x -> new HashSet<>()).add(p.fragmentId());
        }
        if (!p.stored()) {
          continue;
        }
        int h = byId.get(p.holderId().value());
        assertTrue(cluster.up.get(h), "stored on a running holder");
        Path file = cluster.fragmentFile(h, p.fragmentId());
        assertTrue(Files.exists(file), "catalog says holder " + h + " stores " + p.fragmentId());
        FragmentHasher hasher = new FragmentHasher(PackLayout.DEFAULT_BLOCK_SIZE);
        byte[] bytes = Files.readAllBytes(file);
        hasher.update(bytes, 0, bytes.length);
        assertEquals(p.fragmentId(), hasher.finish().id().hex(), "bytes on disk match the fragment id");
        stored.add(p.fragmentIndex());
        expectedOnDisk.computeIfAbsent(h, x -> new HashSet<>()).add(p.fragmentId());
      }
      // Above the repair threshold r = ceil(m/2); fragments of suspect holders may still count as stored.
      assertTrue(stored.size() >= K + (M + 1) / 2, "pack " + packId + " has " + stored + " stored");
    }
    assertEquals(List.of(), cluster.catalog.documents().documentsOn(List.of()), "no document copy is left corrupt");
    // And nothing else (but copies of signed documents): surplus and corrupt copies were collected.
    for (int h = 0; h < cluster.holders.size(); h++) {
      for (var doc : cluster.catalog.documents().documentsOn(List.of(new HolderId(cluster.holders.get(h).holderId())))) {
        expectedOnDisk.computeIfAbsent(h, x -> new HashSet<>()).add(doc.docId());
      }
      Set<String> onDisk = new HashSet<>();
      cluster.holders.get(h).store().list().forEach(id -> onDisk.add(id.hex()));
      onDisk.removeAll(custodyOnDisk.getOrDefault(h, Set.of()));
      assertEquals(expectedOnDisk.getOrDefault(h, Set.of()), onDisk, "holder " + h + " keeps exactly what the catalog counts");
    }
  }
}
