package dev.narvault.cli.e2e;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.repair.Repairer;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Repair over real holders: lost fragments are rebuilt elsewhere, surplus copies collected, leavers drained. */
class RepairTest {
  @TempDir
  Path dir;

  @Test
  void offlineHolders_areRebuiltElsewhere_andTheirCopiesCollectedWhenTheyReturn() throws Exception {
    try (Cluster cluster = new Cluster(dir, 9, Duration.ofMillis(1200))) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(300_000, 700_000, 90_000), 21, 2);
      assertEquals(3, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      int lost0 = cluster.holderOf(packId, 0);
      int lost5 = cluster.holderOf(packId, 5);
      cluster.stopHolder(lost0);
      cluster.stopHolder(lost5);
      Thread.sleep(1600);
      assertEquals(1, cluster.coordinator.repairer().queue().size(), "the pack is queued once its holders are offline");
      Repairer.Round round = cluster.coordinator.repairer().repairOnce();
      assertEquals(1, round.repaired(), round.toString());
      assertEquals(2, round.fragmentsRebuilt());
      assertEquals(0, cluster.coordinator.repairer().queue().size());

      List<FragmentPlacement> rows = cluster.catalog.placements(packId);
      Set<String> storedOn = new HashSet<>();
      for (FragmentPlacement p : rows) {
        if (p.stored()) {
          assertTrue(storedOn.add(p.holderId().value()), "never two fragments of a pack on one holder");
          int h = indexOf(cluster, p.holderId().value());
          assertTrue(Files.exists(cluster.fragmentFile(h, p.fragmentId())), "fragment " + p.fragmentIndex() + " on disk");
        }
      }
      assertEquals(6, storedOn.size());
      assertEquals(2, rows.stream().filter(p -> p.state() == FragmentState.SUPERSEDED).count());
      assertReadsBack(cluster);
      // The manifest's copies on holders are kept at three live ones too.
      HolderId downId = new HolderId(cluster.holders.get(lost0).holderId());
      HolderId downId5 = new HolderId(cluster.holders.get(lost5).holderId());
      var before = cluster.catalog.documents().documentsOn(List.of(downId, downId5));
      int placedCopies = cluster.coordinator.repairer().repairDocuments();
      for (var doc : before) {
        var now = cluster.catalog.documents().document(doc.docId()).orElseThrow();
        long live = now.holders().stream().filter(h -> !h.equals(downId) && !h.equals(downId5)).count();
        assertTrue(live >= 3, "document " + doc.docId() + " has " + live + " live copies");
      }
      assertEquals(before.stream().mapToLong(d -> d.holders().stream()
          .filter(h -> h.equals(downId) || h.equals(downId5)).count()).sum(), placedCopies);

      // The holders come back: their copies are surplus now and are deleted with signed orders.
      cluster.restartHolder(lost0);
      cluster.restartHolder(lost5);
      cluster.awaitRegistered();
      assertEquals(2, cluster.coordinator.collector().collectOnce());
      assertEquals(6, cluster.catalog.placements(packId).size(), "superseded rows forgotten");
      // What they keep is only what the catalog still counts there: copies of signed documents.
      for (int h : List.of(lost0, lost5)) {
        int documents = cluster.catalog.documents().documentsOn(List.of(new HolderId(cluster.holders.get(h).holderId()))).size();
        assertEquals(documents, cluster.holders.get(h).store().fragmentCount(), "holder " + h);
      }
      assertReadsBack(cluster);
    }
  }

  @Test
  void aLeavingHolder_hasItsFragmentsMovedWhileItStillServes() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(200_000, 50_000), 22, 2);
      assertEquals(2, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      int leaving = cluster.holderOf(packId, 2);
      String answer = dev.narvault.holder.server.HolderServer.announceExit(cluster.dir.resolve("holder-" + leaving),
          cluster.coordinator.endpoint(), java.time.InstantSource.system());
      String leaverId = cluster.holders.get(leaving).holderId();
      long documents = cluster.catalog.documents().storedDocumentCopies(new HolderId(leaverId));
      assertTrue(answer.endsWith("fragments still to move: " + (1 + documents)), answer);
      Repairer.Round round = cluster.coordinator.repairAndCollect();
      assertEquals(1, round.fragmentsRebuilt(), round.toString());
      assertEquals(0, cluster.catalog.custody().storedFragments(new HolderId(leaverId)));
      assertEquals(0, cluster.catalog.documents().storedDocumentCopies(new HolderId(leaverId)), "its document copies moved too");
      assertEquals(0, cluster.holders.get(leaving).store().fragmentCount(), "the leaver's copies were deleted");
      String again = dev.narvault.holder.server.HolderServer.announceExit(cluster.dir.resolve("holder-" + leaving),
          cluster.coordinator.endpoint(), java.time.InstantSource.system());
      assertTrue(again.endsWith("fragments still to move: 0"), again);
      cluster.stopHolder(leaving);
      assertReadsBack(cluster);
    }
  }

  @Test
  void aNearlyFullHolder_hasFragmentsMovedOff() throws Exception {
    try (Cluster cluster = new Cluster(dir, 10)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<Integer> sizes = new java.util.ArrayList<>();
      for (int i = 0; i < 16; i++) {
        sizes.add(60_000 + 1000 * i);
      }
      new CacheGenerator(key, cluster.objects).generate(sizes, 23, 2);
      // Tiny packs (one or two NARs each): every holder ends up with several fragments.
      cluster.migrate(key.publicKey(), 4, 2, 0, 70_000);
      int busiest = 0;
      for (int i = 1; i < 10; i++) {
        if (stored(cluster, i) > stored(cluster, busiest)) {
          busiest = i;
        }
      }
      int before = cluster.holders.get(busiest).store().fragmentCount();
      long fragmentsBefore = stored(cluster, busiest);
      long used = cluster.holders.get(busiest).store().usedBytes();
      assertTrue(fragmentsBefore >= 3, fragmentsBefore + " fragments");
      // The volunteer lowers its capacity to just what it holds: nearly full.
      cluster.stopHolder(busiest);
      cluster.capacities.put(busiest, used + 1);
      cluster.restartHolder(busiest);
      cluster.awaitRegistered();
      Thread.sleep(3 * Cluster.HEARTBEAT.toMillis());
      int moved = cluster.coordinator.repairer().rebalanceOnce(2);
      assertEquals(2, moved);
      assertEquals(2, cluster.coordinator.collector().collectOnce());
      assertEquals(before - 2, cluster.holders.get(busiest).store().fragmentCount());
      assertEquals(fragmentsBefore - 2, stored(cluster, busiest));
      assertReadsBack(cluster);
    }
  }

  @Test
  void aHolderReportingItselfFull_hasNothingMoved_theCatalogsCountDecides() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(60_000, 61_000, 62_000, 63_000), 24, 2);
      cluster.migrate(key.publicKey(), 4, 2, 0, 70_000);
      // The holder with the most fragments (4 small packs of 6 on 8 holders: one may get none).
      int liar = 0;
      for (int i = 1; i < 8; i++) {
        if (stored(cluster, i) > stored(cluster, liar)) {
          liar = i;
        }
      }
      long fragmentsBefore = stored(cluster, liar);
      assertTrue(fragmentsBefore >= 1, fragmentsBefore + " fragments");
      // Holder 0 claims its disk is full: a stranger fishing for repair traffic, or a buggy report.
      cluster.stores.get(liar).reportedUsedBytes = cluster.holders.get(liar).store().capacityBytes();
      String id = cluster.holders.get(liar).holderId();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (cluster.catalog.holder(new HolderId(id)).orElseThrow().usedBytes() < cluster.holders.get(liar).store().capacityBytes()) {
        assertTrue(System.nanoTime() < deadline, "the lying heartbeat did not arrive");
        Thread.sleep(50);
      }
      assertEquals(0, cluster.coordinator.repairer().rebalanceOnce(2), "nothing moves on a holder's say-so");
      assertEquals(fragmentsBefore, stored(cluster, liar));
    }
  }

  /** Pack fragments the catalog counts as stored on holder {@code i}. */
  private static long stored(Cluster cluster, int i) throws Exception {
    return cluster.catalog.custody().storedFragments(new HolderId(cluster.holders.get(i).holderId()));
  }

  private static int indexOf(Cluster cluster, String holderId) {
    for (int i = 0; i < cluster.holders.size(); i++) {
      if (cluster.holders.get(i).holderId().equals(holderId)) {
        return i;
      }
    }
    throw new IllegalStateException(holderId);
  }

  /** Every archived NAR reads back through the archive, byte for byte what S3 has. */
  static void assertReadsBack(Cluster cluster) throws Exception {
    assertReadsBack(cluster, Map.of());
  }

  /**
   * Every archived NAR reads back through the archive, byte for byte what S3 has, or, for objects
   * no longer in S3, what {@code original} says it had.
   */
  static void assertReadsBack(Cluster cluster, Map<String, byte[]> original) throws Exception {
    var archive = new dev.narvault.core.archive.Archive(cluster.catalog,
        new dev.narvault.core.holder.HolderClient(Duration.ofSeconds(5)),
        java.util.Optional.of(dev.narvault.core.nix.TrustedKeys.of(cluster.archiveKey.publicKey())));
    List<String> keys = new java.util.ArrayList<>();
    cluster.objects.list("", o -> {
      if (o.key().endsWith(".narinfo")) {
        keys.add(o.key().substring(0, 32));
      }
    });
    for (String hash : keys) {
      var found = cluster.catalog.narByStoreHash(hash);
      if (found.isEmpty()) {
        continue;
      }
      ArchivedNar nar = found.get();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      archive.read(nar, 0, nar.length(), got);
      if (original.containsKey(nar.fileKey())) {
        assertArrayEquals(original.get(nar.fileKey()), got.toByteArray(), hash);
        continue;
      }
      try (InputStream in = cluster.objects.open(nar.fileKey())) {
        assertArrayEquals(in.readAllBytes(), got.toByteArray(), hash);
      }
    }
  }
}
