package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Auditor;
import dev.narvault.repair.Membership;
import dev.narvault.repair.MembershipException;
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
  void heartbeatsAppear_replaysForgeriesAndWrongTypesAreRefused() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0)) {
      HolderServer holder = cluster.addHolder("127.0.9.1", "alice");
      cluster.awaitRegistered();
      URI coordinator = cluster.coordinator.endpoint();
      HolderRecord first = holder(cluster, holder.holderId()).orElseThrow();
      assertEquals(holder.endpoint().toString(), first.endpoint());
      assertEquals("alice", first.operator());
      assertEquals("127.0.9.1", first.seenAddress(), "the coordinator records the address the holder connects from");
      assertTrue(first.publicKey().isPresent());
      waitFor(() -> holder(cluster, holder.holderId()).orElseThrow().lastSeenMillis() > first.lastSeenMillis(),
          "a heartbeat after registration");

      HttpClient http = HttpClient.newHttpClient();
      NixSecretKey key = NixSecretKey.parse(Files.readString(cluster.dir.resolve("holder-0/identity.key")));
      byte[] older = heartbeat(holder.holderId(), System.currentTimeMillis() - 60_000);
      byte[] later = heartbeat(holder.holderId(), System.currentTimeMillis() + 60_000);
      assertEquals(200, post(http, coordinator, "/v1/heartbeat", later, SignedMessages.sign(later, key)));
      assertEquals(409, post(http, coordinator, "/v1/heartbeat", later, SignedMessages.sign(later, key)), "replay");
      assertEquals(409, post(http, coordinator, "/v1/heartbeat", older, SignedMessages.sign(older, key)), "older");
      NixSecretKey stranger = NixSecretKey.generate("x", new SecureRandom());
      assertEquals(401, post(http, coordinator, "/v1/heartbeat", later, SignedMessages.sign(later, stranger)), "forged");
      assertEquals(401, post(http, coordinator, "/v1/heartbeat", later, null), "unsigned");
      byte[] newest = heartbeat(holder.holderId(), System.currentTimeMillis() + 120_000);
      assertEquals(400, post(http, coordinator, "/v1/scrub-report", newest, SignedMessages.sign(newest, key)),
          "a signed heartbeat cannot stand in for another message type");
      assertEquals(400, post(http, coordinator, "/v1/register", newest, SignedMessages.sign(newest, key)));
      byte[] extra = new String(newest, StandardCharsets.UTF_8).replace("}", ",\"admin\":true}")
          .getBytes(StandardCharsets.UTF_8);
      assertEquals(400, post(http, coordinator, "/v1/heartbeat", extra, SignedMessages.sign(extra, key)),
          "unknown fields are refused");
      byte[] quoted = new String(newest, StandardCharsets.UTF_8).replace("\"usedBytes\":1", "\"usedBytes\":\"1\"")
          .getBytes(StandardCharsets.UTF_8);
      assertEquals(400, post(http, coordinator, "/v1/heartbeat", quoted, SignedMessages.sign(quoted, key)),
          "a string is not a number");
      assertEquals(200, post(http, coordinator, "/v1/heartbeat", newest, SignedMessages.sign(newest, key)),
          "the same message, well formed, is accepted (nothing above was recorded)");
    }
  }

  private static byte[] heartbeat(String holderId, long millis) {
    return ("{\"type\":\"heartbeat\",\"holderId\":\"" + holderId + "\",\"timestampMillis\":" + millis
        + ",\"usedBytes\":1,\"fragments\":1,\"version\":\"x\"}").getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aCoordinatorOffLoopback_refusesHoldersThatAdvertiseLoopback() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0)) {
      Membership strict = new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5), false);
      NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
      String id = HolderIdentity.holderId(key.publicKey());
      for (String endpoint : List.of("http://127.0.0.1:7070", "http://[::1]:7070", "http://0.0.0.0:7070")) {
        byte[] body = registration(key, endpoint);
        MembershipException e = assertThrows(MembershipException.class,
            () -> strict.register(body, SignedMessages.sign(body, key), "192.0.2.1"));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("advertise"), e.getMessage());
      }
      byte[] ok = registration(key, "http://192.0.2.1:7070");
      assertEquals(id, strict.register(ok, SignedMessages.sign(ok, key), "192.0.2.1"));
      assertTrue(cluster.catalog.holder(id).isPresent());
    }
  }

  @Test
  void registrations_areRateLimitedPerNetwork() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0)) {
      Membership membership = new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5), true);
      int accepted = 0;
      int limited = 0;
      for (int i = 0; i < 40; i++) {
        NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
        byte[] body = registration(key, "http://127.0.0.1:" + (7000 + i));
        try {
          membership.register(body, SignedMessages.sign(body, key), "198.51.100." + (i + 1));
          accepted++;
        } catch (MembershipException e) {
          assertEquals(429, e.status());
          limited++;
        }
      }
      assertTrue(accepted >= 30 && accepted <= 33 && limited == 40 - accepted, accepted + " accepted");
      assertEquals(accepted, cluster.catalog.holders().size());
    }
  }

  /** A registration as a holder sends it (the codec's wire form). */
  private static byte[] registration(NixSecretKey key, String endpoint) {
    return JsonCodec.toJson(new HolderMessages.Registration(HolderMessages.Registration.TYPE,
        HolderIdentity.holderId(key.publicKey()), System.currentTimeMillis(), key.publicKey().toString(), endpoint,
        1 << 30, 0, 0, "test", "", ""));
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
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(40_000, 90_000), 11, 2);
      assertEquals(2, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      Auditor auditor = cluster.coordinator.auditor();
      assertEquals(0, auditor.auditOnce(), "honest holders pass");
      for (HolderServer h : cluster.holders) {
        assertEquals(List.of(true), cluster.catalog.auditResults(h.holderId()));
      }
      // Holder 0 silently loses its data: every byte of its fragment flipped.
      String packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId())).findFirst().orElseThrow();
      int index = cluster.holders.indexOf(h0);
      cluster.rot(index, p0.fragmentId());
      assertEquals(6, cluster.catalog.healthyPlacements(packId).size());
      assertEquals(1, auditor.auditOnce(), "exactly the altered holder fails");
      assertEquals(List.of(true, false), cluster.catalog.auditResults(h0.holderId()));
      assertEquals("corrupt", cluster.catalog.placements(packId).getFirst().state(), "its copy counts as lost");
      assertEquals(HolderRecord.AUDIT_SUSPECT, cluster.catalog.holder(h0.holderId()).orElseThrow().auditState());
      assertEquals(5, cluster.catalog.healthyPlacements(packId).size(), "the suspect holder's fragment no longer counts");
      assertFalse(cluster.catalog.healthyPlacements(packId).stream().anyMatch(p -> p.holderId().equals(h0.holderId())));
      assertEquals(HolderRecord.AUDIT_OK, cluster.catalog.holder(cluster.holders.get((index + 1) % 6).holderId()).orElseThrow().auditState());
    }
  }

  @Test
  void scrubReport_marksTheFragmentCorruptInTheCatalog() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(30_000), 12, 1);
      assertEquals(1, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      String packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId())).findFirst().orElseThrow();
      Path file = cluster.fragmentFile(cluster.holders.indexOf(h0), p0.fragmentId());
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

  @Test
  void scrubReport_madeWhileTheCoordinatorIsDown_isDeliveredWhenItReturns() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(30_000), 13, 1);
      assertEquals(1, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      String packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      int h0 = cluster.holderOf(packId, 0);
      cluster.stopCoordinator();
      try (FileChannel ch = FileChannel.open(cluster.fragmentFile(h0, p0.fragmentId()), StandardOpenOption.READ,
          StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 7);
      }
      assertEquals(1, cluster.holders.get(h0).scrubOnce(), "quarantined while nobody can be told");
      Thread.sleep(3 * Cluster.HEARTBEAT.toMillis());
      assertEquals("stored", cluster.catalog.placements(packId).getFirst().state(), "the report could not land yet");
      cluster.startCoordinatorAgain();
      waitFor(() -> {
        try {
          return cluster.catalog.placements(packId).getFirst().state().equals("corrupt");
        } catch (Exception e) {
          return false;
        }
      }, "the queued scrub report, retried until acknowledged");
    }
  }
}
