package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.AuditChallenge;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monthly upload quota ({@code --max-upload-per-month}) over real sockets: a holder serves
 * fragment bytes until the month's quota would be passed, then answers 503 with {@code Retry-After}
 * until the month ends (on its clock, moved by hand); the count survives a restart; the
 * coordinator's audits are answered whatever the quota says, and not counted.
 */
class HolderUploadQuotaTest {
  private static final int BLOCK = 4096;
  private static final int SIZE = 10_000;
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  /** Two hours before a month ends, in UTC. */
  private final TestClock clock = new TestClock(Instant.parse("2026-03-31T22:00:00Z"));
  private final HolderClient client = new HolderClient(Duration.ofSeconds(10));
  private final HttpClient http = HttpClient.newHttpClient();
  private final byte[] body = TestFragments.bytes(SIZE, 7);
  private final FragmentId id = TestFragments.idOf(body, BLOCK);

  @TempDir
  Path dir;

  private HolderServer start(long quota) throws IOException {
    Path data = dir.resolve("data");
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data, 1 << 20,
        COORDINATOR.publicKey()).withUploadQuota(quota), DiskFragmentStore.open(data, 1 << 20), clock);
  }

  private void store(HolderServer holder) throws IOException {
    client.put(holder.endpoint(), id, BLOCK, Files.write(dir.resolve("fragment"), body), new Order(Order.Action.PUT,
        id, SIZE, BLOCK, holder.holderId(), clock.instant().plusSeconds(600)).signWith(COORDINATOR));
  }

  /** A plain GET of the fragment, with {@code range} ({@code null}: the whole of it) and extra headers. */
  private HttpResponse<byte[]> get(HolderServer holder, String range, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(HolderClient.fragmentUri(holder.endpoint(), id));
    if (range != null) {
      b.header("Range", "bytes=" + range);
    }
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private HolderMessages.QuotaUse use(HolderServer holder) throws IOException {
    return client.status(holder.endpoint()).uploadQuota();
  }

  private long metric(HolderServer holder, String name) throws Exception {
    String text = http.send(HttpRequest.newBuilder(URI.create(holder.endpoint() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)$").matcher(text);
    assertTrue(m.find(), "no metric " + name + " in\n" + text);
    return Long.parseLong(m.group(1));
  }

  private Order.Signed auditOrder(HolderServer holder, int length) {
    return new Order(Order.Action.AUDIT, id, length, 0, holder.holderId(), clock.instant().plusSeconds(600))
        .signWith(COORDINATOR);
  }

  @Test
  void aSmallQuota_isServedUntilUsed_then503WithRetryAfter_untilTheNextMonth() throws Exception {
    try (HolderServer holder = start(25_000)) {
      store(holder);
      assertEquals(new HolderMessages.QuotaUse("2026-03", 0, 25_000), use(holder), "uploads are not counted");
      assertArrayEquals(body, get(holder, null).body());
      assertArrayEquals(Arrays.copyOfRange(body, 0, SIZE), client.read(holder.endpoint(), id, 0, SIZE));
      assertEquals(20_000, use(holder).servedBytes());

      HttpResponse<byte[]> refused = get(holder, null);
      assertEquals(503, refused.statusCode(), "10 000 more bytes do not fit in the 5 000 left");
      assertEquals("7200", refused.headers().firstValue("Retry-After").orElseThrow(), "until 2026-04-01T00:00Z");
      assertTrue(new String(refused.body()).contains("upload quota for 2026-03"), new String(refused.body()));
      assertEquals(206, get(holder, "0-4999").statusCode(), "what still fits is served");
      assertEquals(503, get(holder, "0-0").statusCode(), "then nothing is");
      assertEquals(503, assertThrows(HolderRefusedException.class, () -> client.read(holder.endpoint(), id, 0, 100))
          .status(), "the gateway's and repair's reads see the 503 as a refusal");
      assertEquals(200, http.send(HttpRequest.newBuilder(HolderClient.fragmentUri(holder.endpoint(), id))
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding())
          .statusCode(), "HEAD sends no fragment bytes: answered");
      assertEquals(new HolderMessages.QuotaUse("2026-03", 25_000, 25_000), use(holder));
      assertEquals(25_000, metric(holder, "narvault_holder_month_served_bytes"));
      assertEquals(25_000, metric(holder, "narvault_holder_upload_quota_bytes"));
      assertEquals(3, metric(holder, "narvault_holder_quota_refused_total"));

      clock.advance(Duration.ofMinutes(119));
      assertEquals("60", get(holder, "0-0").headers().firstValue("Retry-After").orElseThrow());
      clock.advance(Duration.ofMinutes(1));
      assertArrayEquals(body, get(holder, null).body(), "a new month: served again");
      assertEquals(new HolderMessages.QuotaUse("2026-04", SIZE, 25_000), use(holder));
    }
  }

  @Test
  void theMonthsCount_survivesARestart() throws Exception {
    try (HolderServer holder = start(25_000)) {
      store(holder);
      get(holder, null);
      get(holder, null);
      assertEquals(20_000, use(holder).servedBytes());
    }
    assertTrue(Files.readString(dir.resolve("data/upload-quota.json")).contains("\"servedBytes\":20000"),
        "written down at close");
    try (HolderServer holder = start(25_000)) {
      assertEquals(new HolderMessages.QuotaUse("2026-03", 20_000, 25_000), use(holder));
      assertEquals(503, get(holder, null).statusCode(), "the restarted holder still knows the month's count");
      assertEquals(206, get(holder, "0-4999").statusCode());
    }
    clock.advance(Duration.ofHours(2));
    try (HolderServer holder = start(25_000)) {
      assertEquals(new HolderMessages.QuotaUse("2026-04", 0, 25_000), use(holder), "March's count is not April's");
    }
  }

  @Test
  void audits_areAnsweredWhenTheQuotaIsUsed_andNotCounted() throws Exception {
    try (HolderServer holder = start(SIZE)) {
      store(holder);
      assertArrayEquals(body, get(holder, null).body());
      assertEquals(503, get(holder, "4096-8191").statusCode(), "the quota is used");

      // The coordinator's audit: one block, with its signed audit order.
      assertArrayEquals(Arrays.copyOfRange(body, BLOCK, 2 * BLOCK),
          client.auditRead(holder.endpoint(), id, BLOCK, BLOCK, auditOrder(holder, BLOCK)));
      // The same with a short last block, and the challenge-answer audit.
      assertArrayEquals(Arrays.copyOfRange(body, 2 * BLOCK, SIZE),
          client.auditRead(holder.endpoint(), id, 2 * BLOCK, SIZE - 2 * BLOCK, auditOrder(holder, SIZE - 2 * BLOCK)));
      AuditChallenge challenge = new AuditChallenge(id, TestFragments.bytes(32, 1), List.of(new long[] {100, 400}));
      try (FileChannel copy = FileChannel.open(dir.resolve("fragment"))) {
        assertEquals(challenge.answer(copy), client.audit(holder.endpoint(), challenge));
      }
      assertEquals(new HolderMessages.QuotaUse("2026-03", SIZE, SIZE), use(holder), "audits are not counted");

      // Only the coordinator's own, fresh audit order for exactly that read lets a read through.
      Order.Signed used = auditOrder(holder, BLOCK);
      client.auditRead(holder.endpoint(), id, 0, BLOCK, used);
      assertEquals(503, assertThrows(HolderRefusedException.class,
          () -> client.auditRead(holder.endpoint(), id, 0, BLOCK, used)).status(), "replayed");
      Order.Signed forged = new Order(Order.Action.AUDIT, id, BLOCK, 0, holder.holderId(),
          clock.instant().plusSeconds(600)).signWith(NixSecretKey.generate("test-coordinator-1", new SecureRandom()));
      assertEquals(503, assertThrows(HolderRefusedException.class,
          () -> client.auditRead(holder.endpoint(), id, 0, BLOCK, forged)).status(), "forged");
      Order.Signed small = auditOrder(holder, BLOCK);
      assertEquals(503, get(holder, "0-" + (SIZE - 1), Order.HEADER, small.order().text(), Order.SIGNATURE_HEADER,
          small.signature()).statusCode(), "an order for one block does not let the whole fragment through");
      Order.Signed put = new Order(Order.Action.PUT, id, BLOCK, BLOCK, holder.holderId(),
          clock.instant().plusSeconds(600)).signWith(COORDINATOR);
      assertEquals(503, get(holder, "0-" + (BLOCK - 1), Order.HEADER, put.order().text(), Order.SIGNATURE_HEADER,
          put.signature()).statusCode(), "a put order is no audit order");
      assertEquals(SIZE, use(holder).servedBytes());
    }
  }
}
