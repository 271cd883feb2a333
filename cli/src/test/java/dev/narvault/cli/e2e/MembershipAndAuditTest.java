package dev.narvault.cli.e2e;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.AuditState;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Auditor;
import dev.narvault.repair.EndpointProver;
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
      return c.catalog.holder(new HolderId(id));
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
      assertEquals("127.0.9.1", first.seenAddress(), "the coordinator records the address it proved the endpoint at");
      assertTrue(first.reachedMillis() > 0, "registration proved the endpoint");
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
  void aCoordinatorWithoutTheDevelopmentFlag_refusesHoldersAtLoopbackOrPrivateAddresses() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0)) {
      Membership strict = new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5),
          new EndpointProver(new HolderClient(Duration.ofSeconds(2)), false), Duration.ofMinutes(1));
      NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
      for (String endpoint : List.of("http://127.0.0.1:7070", "http://[::1]:7070", "http://0.0.0.0:7070",
          "http://localhost:7070", "http://10.1.2.3:7070", "http://169.254.169.254:80", "http://192.0.2.1:7070")) {
        byte[] body = registration(key, endpoint);
        MembershipException e = assertThrows(MembershipException.class,
            () -> strict.register(body, SignedMessages.sign(body, key), "198.51.100.1"));
        assertEquals(400, e.status());
        assertTrue(e.getMessage().contains("advertise"), e.getMessage());
      }
      assertTrue(cluster.catalog.holders().isEmpty(), "nothing was registered");
    }
  }

  /** A stranger registers an endpoint that is not its own: the coordinator connects back and finds another key. */
  @Test
  void aRegistrationNamingAnotherHoldersEndpoint_isRefused() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 1)) {
      NixSecretKey stranger = NixSecretKey.generate("narvault-holder", new SecureRandom());
      byte[] body = registration(stranger, cluster.holders.getFirst().endpoint().toString());
      HttpClient http = HttpClient.newHttpClient();
      assertEquals(400, post(http, cluster.coordinator.endpoint(), "/v1/register", body,
          SignedMessages.sign(body, stranger)));
      assertTrue(cluster.catalog.holder(HolderIdentity.holderId(stranger.publicKey())).isEmpty());
      byte[] nobody = registration(stranger, "http://127.0.77.1:1");
      assertEquals(400, post(http, cluster.coordinator.endpoint(), "/v1/register", nobody,
          SignedMessages.sign(nobody, stranger)), "nobody answers there");
      // Its own endpoint, but over HTTPS: the proof could not stay on the address it checks.
      String own = cluster.holders.getFirst().endpoint().toString().replace("http://", "https://");
      NixSecretKey holderKey = NixSecretKey.generate("narvault-holder", new SecureRandom());
      byte[] tls = registration(holderKey, own);
      HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create(cluster.coordinator.endpoint()
              + "/v1/register")).header(SignedMessages.HEADER, SignedMessages.sign(tls, holderKey))
          .POST(HttpRequest.BodyPublishers.ofByteArray(tls)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("plain http://"), refused.body());
    }
  }

  @Test
  void registrations_areRateLimitedPerNetwork() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 0)) {
      Membership membership = new Membership(cluster.catalog, InstantSource.system(), Duration.ofMinutes(5),
          new EndpointProver(new HolderClient(Duration.ofSeconds(2)), true), Duration.ofMinutes(1));
      int passedTheLimiter = 0;
      int limited = 0;
      for (int i = 0; i < 40; i++) {
        NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
        int source = i;
        // Nobody listens there: those the limiter lets through fail the endpoint proof instead.
        byte[] body = registration(key, "http://127.0.0.1:" + (7000 + i));
        MembershipException e = assertThrows(MembershipException.class,
            () -> membership.register(body, SignedMessages.sign(body, key), "198.51.100." + (source + 1)));
        if (e.status() == 429) {
          limited++;
        } else {
          assertEquals(400, e.status(), e.getMessage());
          passedTheLimiter++;
        }
      }
      assertTrue(passedTheLimiter >= 30 && passedTheLimiter <= 33 && limited == 40 - passedTheLimiter,
          passedTheLimiter + " passed the limiter");
      assertEquals(0, cluster.catalog.holders().size(), "no unproven endpoint is registered");
    }
  }

  /** A registration as a holder sends it (the codec's wire form). */
  private static byte[] registration(NixSecretKey key, String endpoint) {
    return JsonCodec.toJson(new HolderMessages.Registration(HolderMessages.Registration.TYPE,
        HolderIdentity.holderId(key.publicKey()).value(), System.currentTimeMillis(), key.publicKey().toString(), endpoint,
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
        assertEquals(List.of(true), cluster.catalog.auditResults(new HolderId(h.holderId())));
      }
      // Holder 0 silently loses its data: every byte of its fragment flipped.
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId().value())).findFirst().orElseThrow();
      int index = cluster.holders.indexOf(h0);
      cluster.rot(index, p0.fragmentId());
      assertEquals(6, cluster.catalog.healthyPlacements(packId).size());
      assertEquals(1, auditor.auditOnce(), "exactly the altered holder fails");
      assertEquals(List.of(true, false), cluster.catalog.auditResults(new HolderId(h0.holderId())));
      assertEquals(FragmentState.CORRUPT, cluster.catalog.placements(packId).getFirst().state(), "its copy counts as lost");
      HolderRecord after = cluster.catalog.holder(new HolderId(h0.holderId())).orElseThrow();
      assertEquals(AuditState.OK, after.auditState(), "one failure is forgiven");
      assertTrue(after.audit().value() < 1.0);
      assertEquals(5, cluster.catalog.healthyPlacements(packId).size(), "the altered copy no longer counts");
      assertFalse(cluster.catalog.healthyPlacements(packId).stream().anyMatch(p -> p.fragmentId().equals(p0.fragmentId())
          && p.holderId().value().equals(h0.holderId())));
      assertEquals(AuditState.OK, cluster.catalog.holder(new HolderId(cluster.holders.get((index + 1) % 6).holderId())).orElseThrow().auditState());
    }
  }

  @Test
  void scrubReport_marksTheFragmentCorruptInTheCatalog() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(30_000), 12, 1);
      assertEquals(1, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      HolderServer h0 = cluster.holders.stream().filter(h -> h.holderId().equals(p0.holderId().value())).findFirst().orElseThrow();
      Path file = cluster.fragmentFile(cluster.holders.indexOf(h0), p0.fragmentId());
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {42, 43, 44}), 10);
      }
      assertEquals(1, h0.scrubOnce());
      waitFor(() -> {
        try {
          return cluster.catalog.placements(packId).getFirst().state() == FragmentState.CORRUPT;
        } catch (Exception e) {
          return false;
        }
      }, "the scrub report");
      assertFalse(cluster.catalog.placements(packId).get(1).state() == FragmentState.CORRUPT);
      assertEquals(5, cluster.catalog.healthyPlacements(packId).size(), "a corrupt fragment no longer counts");
    }
  }

  @Test
  void scrubReport_madeWhileTheCoordinatorIsDown_isDeliveredWhenItReturns() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(30_000), 13, 1);
      assertEquals(1, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      FragmentPlacement p0 = cluster.catalog.placements(packId).getFirst();
      int h0 = cluster.holderOf(packId, 0);
      cluster.stopCoordinator();
      try (FileChannel ch = FileChannel.open(cluster.fragmentFile(h0, p0.fragmentId()), StandardOpenOption.READ,
          StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 7);
      }
      assertEquals(1, cluster.holders.get(h0).scrubOnce(), "quarantined while nobody can be told");
      Thread.sleep(3 * Cluster.HEARTBEAT.toMillis());
      assertEquals(FragmentState.STORED, cluster.catalog.placements(packId).getFirst().state(), "the report could not land yet");
      cluster.startCoordinatorAgain();
      waitFor(() -> {
        try {
          return cluster.catalog.placements(packId).getFirst().state() == FragmentState.CORRUPT;
        } catch (Exception e) {
          return false;
        }
      }, "the queued scrub report, retried until acknowledged");
    }
  }
}
