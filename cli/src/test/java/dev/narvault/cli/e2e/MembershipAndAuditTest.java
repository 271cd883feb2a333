package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Auditor;
import dev.narvault.repair.CoordinatorServer;
import dev.narvault.repair.Membership;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Holders register and heartbeat with a real coordinator; audits and scrub reports land in the catalog. */
class MembershipAndAuditTest {
  @TempDir
  Path dir;

  private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static Optional<HolderRecord> holder(Cluster c, String id) {
    try {
      return c.catalog.holder(id);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void heartbeatsAppear_replaysAndForgeriesAreRefused() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0);
        CoordinatorServer coordinator = CoordinatorServer.start(new InetSocketAddress("127.0.0.1", 0),
            new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5)));
        HolderServer holder = HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0),
            dir.resolve("h"), 1 << 20, cluster.coordinatorKey.publicKey())
            .withCoordinator(coordinator.endpoint()).withHeartbeat(Duration.ofMillis(200))
            .withDescription(Optional.empty(), "alice", "NL"))) {
      waitFor(() -> holder(cluster, holder.holderId()).isPresent(), "registration");
      HolderRecord first = holder(cluster, holder.holderId()).orElseThrow();
      assertEquals(holder.endpoint().toString(), first.endpoint());
      assertEquals("alice", first.operator());
      assertTrue(first.publicKey().isPresent());
      waitFor(() -> holder(cluster, holder.holderId()).orElseThrow().lastSeenMillis() > first.lastSeenMillis(),
          "a heartbeat after registration");

      HttpClient http = HttpClient.newHttpClient();
      NixSecretKey key = NixSecretKey.parse(Files.readString(dir.resolve("h/identity.key")));
      byte[] body = ("{\"holderId\":\"" + holder.holderId() + "\",\"timestampMillis\":" + System.currentTimeMillis()
          + ",\"usedBytes\":1,\"fragments\":1,\"version\":\"x\"}").getBytes(StandardCharsets.UTF_8);
      // Sleep so the holder's own heartbeats cannot be newer than ours... then send ours twice.
      Thread.sleep(5);
      byte[] later = ("{\"holderId\":\"" + holder.holderId() + "\",\"timestampMillis\":" + (System.currentTimeMillis() + 60_000)
          + ",\"usedBytes\":1,\"fragments\":1,\"version\":\"x\"}").getBytes(StandardCharsets.UTF_8);
      assertEquals(200, post(http, coordinator.endpoint(), "/v1/heartbeat", later, SignedMessages.sign(later, key)));
      assertEquals(409, post(http, coordinator.endpoint(), "/v1/heartbeat", later, SignedMessages.sign(later, key)), "replay");
      assertEquals(409, post(http, coordinator.endpoint(), "/v1/heartbeat", body, SignedMessages.sign(body, key)), "older");
      NixSecretKey stranger = NixSecretKey.generate("x", new SecureRandom());
      assertEquals(401, post(http, coordinator.endpoint(), "/v1/heartbeat", later, SignedMessages.sign(later, stranger)), "forged");
      assertEquals(401, post(http, coordinator.endpoint(), "/v1/heartbeat", later, null), "unsigned");
    }
  }

  private static int post(HttpClient http, URI base, String path, byte[] body, String signature) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (signature != null) {
      b.header(SignedMessages.HEADER, signature);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void audits_passForHonestHolders_failForAlteredData_andScrubReportsReachTheCatalog() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6);
        CoordinatorServer coordinator = CoordinatorServer.start(new InetSocketAddress("127.0.0.1", 0),
            new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5)))) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(40_000, 90_000), 11, 2);
      assertEquals(2, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      Auditor auditor = new Auditor(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), InstantSource.system());
      assertEquals(0, auditor.auditOnce(), "honest holders pass");
      for (HolderServer h : cluster.holders) {
        assertEquals(List.of(true), cluster.catalog.auditResults(h.holderId()));
      }
      // Holder 0 silently loses its data: every byte of its fragment flipped.
      String packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId())).findFirst().orElseThrow();
      int index = cluster.holders.indexOf(h0);
      Path file = cluster.fragmentFile(index, p0.fragmentId());
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ByteBuffer all = ByteBuffer.allocate((int) ch.size());
        ch.read(all, 0);
        for (int i = 0; i < all.capacity(); i++) {
          all.put(i, (byte) ~all.get(i));
        }
        ch.write(all.flip(), 0);
      }
      assertEquals(6, cluster.catalog.healthyPlacements(packId).size());
      assertEquals(1, auditor.auditOnce(), "exactly the altered holder fails");
      assertEquals(HolderRecord.AUDIT_SUSPECT, cluster.catalog.holder(h0.holderId()).orElseThrow().auditState());
      assertEquals(5, cluster.catalog.healthyPlacements(packId).size(), "the suspect holder's fragment no longer counts");
      assertFalse(cluster.catalog.healthyPlacements(packId).stream().anyMatch(p -> p.holderId().equals(h0.holderId())));
      assertEquals(HolderRecord.AUDIT_OK, cluster.catalog.holder(cluster.holders.get((index + 1) % 6).holderId()).orElseThrow().auditState());
    }
  }

  @Test
  void scrubReport_marksTheFragmentCorruptInTheCatalog() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0);
        CoordinatorServer coordinator = CoordinatorServer.start(new InetSocketAddress("127.0.0.1", 0),
            new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5)))) {
      for (int i = 0; i < 6; i++) {
        cluster.holders.add(HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0),
            dir.resolve("h" + i), 1 << 24, cluster.coordinatorKey.publicKey())
            .withCoordinator(coordinator.endpoint()).withHeartbeat(Duration.ofMillis(100))));
        cluster.up.add(true);
      }
      for (HolderServer h : cluster.holders) {
        waitFor(() -> holder(cluster, h.holderId()).flatMap(HolderRecord::publicKey).isPresent(), "registration");
      }
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(30_000), 12, 1);
      assertEquals(1, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      String packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId())).findFirst().orElseThrow();
      Path file = dir.resolve("h" + cluster.holders.indexOf(h0)).resolve("fragments")
          .resolve(p0.fragmentId().substring(0, 2)).resolve(p0.fragmentId().substring(2, 4)).resolve(p0.fragmentId());
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {42, 43, 44}), 10);
      }
      assertEquals(1, h0.scrubOnce());
      waitFor(() -> {
        try {
          return cluster.catalog.placements(packId).getFirst().state().equals("corrupt");
        } catch (Exception e) {
          return false;
        }
      }, "the scrub report");
      assertFalse(cluster.catalog.placements(packId).get(1).state().equals("corrupt"));
      assertEquals(5, cluster.catalog.healthyPlacements(packId).size(), "a corrupt fragment no longer counts");
    }
  }
}
