package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.archive.HolderHealth;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.ReadBudget;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's read path against real holders that are dead, slow or lying: every byte served is
 * right, and a bad holder is asked a bounded number of times however many requests come (the
 * gateway-wide holder health). Each test has a fresh gateway (fresh memory) with the NAR cache off,
 * so that every request really reads from holders, unless the test is about the cache.
 */
class GatewayFaultsTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  static Path dir;

  static Cluster cluster;
  static List<CacheGenerator.GeneratedPath> paths;
  static ArchivedNar first;
  /** Holder of the first NAR's data fragment (fragment 0 of its pack). */
  static int holderOfFirst;

  private GatewayServer gateway;

  @BeforeAll
  static void start() throws Exception {
    cluster = new Cluster(dir, 6);
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    paths = new CacheGenerator(key, cluster.objects).generate(List.of(150_000, 150_000, 150_000, 150_000), 9, 2);
    assertEquals(4, cluster.migrate(key.publicKey(), 4, 2).narsArchived());
    first = cluster.catalog.narByFileKey(paths.getFirst().narKey()).orElseThrow();
    assertEquals(0, first.packOffset(), "the first NAR starts its pack: it lies in data fragment 0");
    holderOfFirst = cluster.holderOf(first.packId(), 0);
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  @BeforeEach
  void honest() {
    cluster.stores.forEach(s -> {
      s.mode = FaultyStore.Mode.HONEST;
      s.opens.set(0);
    });
  }

  @AfterEach
  void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private URI startGateway(GatewayConfig config) throws Exception {
    gateway = GatewayServer.start(config, new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
        Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey())), HolderHealth.withDefaults(),
        new ReadBudget(16 << 20)), cluster.objects);
    return gateway.endpoint();
  }

  private static GatewayConfig noCache() {
    return new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50)
        .withCache(new GatewayConfig.CacheSettings(Optional.empty(), 0));
  }

  private static byte[] s3(String key) throws Exception {
    try (InputStream in = cluster.objects.open(key)) {
      return in.readAllBytes();
    }
  }

  private static HttpResponse<byte[]> get(URI gateway, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static long metric(URI gateway, String name) throws Exception {
    Matcher m = Pattern.compile("(?m)^" + name + " (\\d+)$").matcher(new String(get(gateway, "/metrics").body()));
    assertTrue(m.find(), name);
    return Long.parseLong(m.group(1));
  }

  /** 100 requests for the first NAR, all right. */
  private static void hundredRequests(URI gateway) throws Exception {
    byte[] expected = s3(first.fileKey());
    for (int i = 0; i < 100; i++) {
      HttpResponse<byte[]> r = get(gateway, "/" + first.fileKey());
      assertEquals(200, r.statusCode(), "request " + i);
      assertArrayEquals(expected, r.body(), "request " + i);
    }
  }

  @Test
  void deadHolder_isAskedABoundedNumberOfTimes_across100Requests() throws Exception {
    URI endpoint = URI.create(cluster.holders.get(holderOfFirst).endpoint().toString());
    cluster.stopHolder(holderOfFirst);
    // Something that accepts and hangs up at once where the holder was: every ask is counted.
    AtomicInteger asked = new AtomicInteger();
    try (ServerSocket dead = new ServerSocket()) {
      dead.bind(new InetSocketAddress(endpoint.getHost(), endpoint.getPort()));
      Thread.ofVirtual().start(() -> {
        while (!dead.isClosed()) {
          try (Socket s = dead.accept()) {
            asked.incrementAndGet();
          } catch (java.io.IOException closed) {
            return;
          }
        }
      });
      URI gw = startGateway(noCache());
      hundredRequests(gw);
      assertTrue(asked.get() <= 3, "the dead holder was asked " + asked.get() + " times");
      assertEquals(100, metric(gw, "narvault_gateway_nar_degraded_total"), "every read decoded around it");
    } finally {
      cluster.restartHolder(holderOfFirst);
      cluster.awaitRegistered();
    }
  }

  @Test
  void lyingHolder_isReadAround_andAskedABoundedNumberOfTimes() throws Exception {
    FaultyStore liar = cluster.stores.get(holderOfFirst);
    liar.mode = FaultyStore.Mode.LYING;
    URI gw = startGateway(noCache());
    hundredRequests(gw);
    assertTrue(liar.opens.get() <= 3, "the lying holder was asked " + liar.opens.get() + " times");
  }

  @Test
  void slowHolder_isHedged_andThenAvoided() throws Exception {
    FaultyStore slow = cluster.stores.get(holderOfFirst);
    slow.mode = FaultyStore.Mode.SLOW;
    slow.slowMillis = 4_000;
    URI gw = startGateway(noCache());
    byte[] expected = s3(first.fileKey());
    for (int i = 0; i < 20; i++) {
      assertArrayEquals(expected, get(gw, "/" + first.fileKey()).body(), "request " + i);
    }
    assertTrue(slow.opens.get() <= 3, "the slow holder was asked " + slow.opens.get() + " times");
  }

  @Test
  void degradedReads_goToFastHolders_notToOneThatWasSlow() throws Exception {
    // Fragment 0 (the first NAR's) lies, so every read decodes it from 4 of the 5 others; the
    // holder of fragment 1 answers, but 300 ms late (well under the 2 s hedge).
    cluster.stores.get(holderOfFirst).mode = FaultyStore.Mode.LYING;
    FaultyStore slow = cluster.stores.get(cluster.holderOf(first.packId(), 1));
    slow.mode = FaultyStore.Mode.SLOW;
    slow.slowMillis = 300;
    URI gw = startGateway(noCache());
    byte[] expected = s3(first.fileKey());
    for (int i = 0; i < 20; i++) {
      assertArrayEquals(expected, get(gw, "/" + first.fileKey()).body(), "request " + i);
    }
    assertTrue(slow.opens.get() <= 2, "the slow holder was asked " + slow.opens.get() + " times in 20 decodes");
  }

  @Test
  void tinyRange_costsOneBlock_andRangesPastTheOverheadBudgetAre429() throws Exception {
    URI gw = startGateway(noCache().withOverhead(new GatewayConfig.Rate(1, 300 * 1024)));
    HttpResponse<byte[]> one = get(gw, "/" + first.fileKey(), "Range", "bytes=0-0");
    assertEquals(206, one.statusCode());
    assertArrayEquals(new byte[] {s3(first.fileKey())[0]}, one.body());
    long cost = metric(gw, "narvault_gateway_nar_holder_bytes_total");
    assertTrue(cost > 0 && cost <= 64 * 1024, "one byte costs one verified block of one holder, not " + cost);

    // With fragment 0 down, each tiny range decodes: 4 holders' blocks for one byte.
    cluster.stopHolder(holderOfFirst);
    try {
      int refused = 0;
      for (int i = 0; i < 5; i++) {
        HttpResponse<byte[]> r = get(gw, "/" + first.fileKey(), "Range", "bytes=0-0");
        if (r.statusCode() == 429) {
          refused++;
          assertTrue(r.headers().firstValue("Retry-After").isPresent());
        } else {
          assertEquals(206, r.statusCode());
        }
      }
      assertTrue(refused >= 3, "a client costing 256 KiB per byte is stopped within its 300 KiB budget: "
          + refused + " of 5 refused");
      HttpResponse<byte[]> whole = get(gw, "/" + first.fileKey());
      assertEquals(200, whole.statusCode(), "whole NARs are not charged");
      assertArrayEquals(s3(first.fileKey()), whole.body());
    } finally {
      cluster.restartHolder(holderOfFirst);
      cluster.awaitRegistered();
    }
  }

  @Test
  void concurrentRequestsForOneNar_shareOneRebuild_andLaterOnesComeFromTheCache() throws Exception {
    URI gw = startGateway(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50));
    FaultyStore slow = cluster.stores.get(holderOfFirst);
    // Slow enough that all requests arrive while the first one rebuilds, not so slow as to be hedged.
    slow.mode = FaultyStore.Mode.SLOW;
    slow.slowMillis = 1_000;
    byte[] expected = s3(first.fileKey());
    List<Future<HttpResponse<byte[]>>> answers = new ArrayList<>();
    try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 8; i++) {
        answers.add(clients.submit(() -> get(gw, "/" + first.fileKey())));
      }
      for (Future<HttpResponse<byte[]>> a : answers) {
        assertEquals(200, a.get().statusCode());
        assertArrayEquals(expected, a.get().body());
      }
    }
    long blocks = Math.ceilDiv(first.length(), 64 * 1024) * 64 * 1024;
    assertTrue(metric(gw, "narvault_gateway_nar_holder_bytes_total") <= blocks,
        "8 requests, one rebuild: " + metric(gw, "narvault_gateway_nar_holder_bytes_total") + " bytes read");
    slow.mode = FaultyStore.Mode.HONEST;
    long hits = metric(gw, "narvault_gateway_nar_cache_hits_total");
    assertArrayEquals(expected, get(gw, "/" + first.fileKey()).body());
    assertEquals(hits + 1, metric(gw, "narvault_gateway_nar_cache_hits_total"), "a later request is a cache hit");
    assertArrayEquals(java.util.Arrays.copyOfRange(expected, 100, 200),
        get(gw, "/" + first.fileKey(), "Range", "bytes=100-199").body(), "ranges are served from the cache too");
  }
}
