package dev.narvault.cli.e2e;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.coordinator.PlacementException;
import dev.narvault.core.nix.NixSecretKey;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The placement rules with real holders on distinct loopback addresses: a bloc sharing one /24,
 * and a bloc sharing one operator, leave at once; no pack loses more than one fragment to the
 * first and ⌊m/2⌋ to the second.
 */
class PlacementRulesTest {
  @TempDir
  Path dir;

  @Test
  void aBlocSharingANetworkOrAnOperator_neverHoldsTwoFragmentsOfAPack() throws Exception {
    try (Cluster cluster = new Cluster(dir, 0, Duration.ofMillis(1200))) {
      List<Integer> subnetBloc = new ArrayList<>();
      List<Integer> operatorBloc = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        subnetBloc.add(cluster.holders.size());
        cluster.addHolder("127.200.0." + (i + 1), ""); // five holders, one /24
      }
      for (int i = 0; i < 5; i++) {
        operatorBloc.add(cluster.holders.size());
        cluster.addHolder("127." + (100 + i) + ".0.1", "mallory"); // five wider networks, one operator
      }
      for (int i = 0; i < 10; i++) {
        cluster.addHolder("127." + (i + 1) + ".0.1", "");
      }
      cluster.awaitRegistered();
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        sizes.add(40_000 + 9_000 * i);
      }
      new CacheGenerator(key, cluster.objects).generate(sizes, 31, 2);
      // Packs of ~100 KB: several packs, each placed on its own.
      cluster.migrate(key.publicKey(), 6, 4, 0, 100_000);
      Set<String> packs = packs(cluster);
      assertTrue(packs.size() >= 4, packs.size() + " packs");
      Map<String, Integer> index = new HashMap<>();
      for (int i = 0; i < cluster.holders.size(); i++) {
        index.put(cluster.holders.get(i).holderId(), i);
      }
      for (String packId : packs) {
        int inSubnet = 0;
        int inOperator = 0;
        for (FragmentPlacement p : cluster.catalog.placements(new PackId(packId))) {
          inSubnet += subnetBloc.contains(index.get(p.holderId().value())) ? 1 : 0;
          inOperator += operatorBloc.contains(index.get(p.holderId().value())) ? 1 : 0;
        }
        assertTrue(inSubnet <= 1 && inOperator <= 2, "pack " + packId + ": " + inSubnet + " in the /24, "
            + inOperator + " with the operator");
      }
      // Both blocs leave at once: every pack loses at most three fragments (1 + floor(4/2)) and stays readable.
      subnetBloc.forEach(cluster::stopHolder);
      operatorBloc.forEach(cluster::stopHolder);
      Thread.sleep(1600);
      for (var health : cluster.coordinator.repairer().queue()) {
        assertTrue(health.healthyCount() >= 7, health.toString());
      }
      cluster.coordinator.repairer().repairOnce();
      RepairTest.assertReadsBack(cluster);
    }
  }

  @Test
  void placementRequests_needATrustedWorkerKey_andFailClearlyWhenTheRulesCannotBeMet() throws Exception {
    try (Cluster cluster = new Cluster(dir, 3)) {
      List<CoordinatorMessages.Wanted> four = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        four.add(new CoordinatorMessages.Wanted(i, "%064x".formatted(i + 1), 1000));
      }
      PlacementClient trusted = new PlacementClient(cluster.coordinator.endpoint(), cluster.workerKey,
          InstantSource.system());
      PlacementException e = org.junit.jupiter.api.Assertions.assertThrows(PlacementException.class,
          () -> trusted.place(new PackId("pack-x"), 0, 65536, four, List.of(), List.of()));
      assertTrue(e.getMessage().contains("needs 4 more holders") && e.getMessage().contains("only 3 qualify"),
          e.getMessage());
      // A request for the widest code (k + m = 256 fragments) reaches the rules; it is not too large.
      List<CoordinatorMessages.Wanted> wide = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        wide.add(new CoordinatorMessages.Wanted(i, "%064x".formatted(i + 1), 1000));
      }
      PlacementException tooFew = org.junit.jupiter.api.Assertions.assertThrows(PlacementException.class,
          () -> trusted.place(new PackId("pack-wide"), 0, 65536, wide, List.of(), List.of()));
      assertTrue(tooFew.getMessage().contains("needs 256 more holders"), tooFew.getMessage());
      List<CoordinatorMessages.Assignment> three = trusted.place(new PackId("pack-x"), 0, 65536, four.subList(0, 3), List.of(),
          List.of());
      assertEquals(3, new HashSet<>(three.stream().map(CoordinatorMessages.Assignment::holderId).toList()).size());

      PlacementClient stranger = new PlacementClient(cluster.coordinator.endpoint(),
          NixSecretKey.generate("test-worker-1", new SecureRandom()), InstantSource.system());
      IOException refused = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
          () -> stranger.place(new PackId("pack-x"), 0, 65536, four.subList(0, 1), List.of(), List.of()));
      assertTrue(refused.getMessage().contains("HTTP 401"), refused.getMessage());

      HttpResponse<String> junk = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(cluster.coordinator.endpoint() + "/v1/placements"))
              .POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"placement-request\",\"extra\":1}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(400, junk.statusCode(), junk.body());

      HttpResponse<String> metrics = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(cluster.coordinator.endpoint() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, metrics.statusCode());
      assertTrue(metrics.body().contains("narvault_placements_granted_total 1\n"), metrics.body());
      assertTrue(metrics.body().contains("narvault_placements_refused_total 2\n"), metrics.body());
      for (String name : List.of("narvault_packs_total", "narvault_packs_degraded", "narvault_repair_queue_packs",
          "narvault_repair_written_bytes_total", "narvault_repair_duration_seconds_count")) {
        assertTrue(metrics.body().contains("\n" + name + " "), name);
      }
    }
  }

  private static Set<String> packs(Cluster cluster) throws IOException {
    Set<String> packs = new HashSet<>();
    List<String> keys = new ArrayList<>();
    cluster.objects.list("", o -> {
      if (o.key().endsWith(".narinfo")) {
        keys.add(o.key().substring(0, 32));
      }
    });
    for (String k : keys) {
      packs.add(cluster.catalog.narByStoreHash(k).orElseThrow().packId().hex());
    }
    return packs;
  }
}
