package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.core.archive.Archive;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** What the gateway answers over HTTP, checked without Nix: the protocol rules Nix relies on. */
class GatewayHttpTest {
  @TempDir
  static Path dir;

  static Cluster cluster;
  static List<CacheGenerator.GeneratedPath> paths;
  static URI gateway;
  static final HttpClient HTTP = HttpClient.newHttpClient();

  @BeforeAll
  static void start() throws Exception {
    cluster = new Cluster(dir, 6);
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    paths = new CacheGenerator(key, cluster.objects).generate(List.of(3000, 70_000, 200_000, 5000), 7, 2);
    MigrationSummary summary = cluster.migrate(key.publicKey(), 4, 2);
    assertEquals(4, summary.narsArchived());
    gateway = cluster.startGateway();
  }

  @AfterAll
  static void stop() throws Exception {
    cluster.close();
  }

  static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(gateway + path));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  static byte[] s3(String key) throws Exception {
    try (InputStream in = cluster.objects.open(key)) {
      return in.readAllBytes();
    }
  }

  @Test
  void nixCacheInfo_hasStoreDirMassQueryAndPriorityAbove40() throws Exception {
    HttpResponse<byte[]> r = get("/nix-cache-info");
    assertEquals(200, r.statusCode());
    assertEquals("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 50\n", new String(r.body()));
  }

  @Test
  void putNixCacheInfo_isRefused() throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/nix-cache-info"))
        .PUT(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(405, r.statusCode());
  }

  @Test
  void narInfo_isServedByteForByteFromTheCatalog() throws Exception {
    for (CacheGenerator.GeneratedPath p : paths) {
      String key = p.storePath().hashPart() + ".narinfo";
      HttpResponse<byte[]> r = get("/" + key);
      assertEquals(200, r.statusCode());
      assertArrayEquals(s3(key), r.body());
      assertEquals(p.storePath(), NarInfo.parse(r.body()).storePath());
    }
  }

  @Test
  void unknownPath_is404_andHeadWorks() throws Exception {
    assertEquals(404, get("/00000000000000000000000000000000.narinfo").statusCode());
    assertEquals(404, get("/nar/0000.nar.xz").statusCode());
    HttpResponse<Void> head = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/" + paths.getFirst().narKey()))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    assertEquals(200, head.statusCode());
    assertEquals(paths.getFirst().fileSize(), head.headers().firstValueAsLong("Content-Length").orElse(-1));
    assertEquals("bytes", head.headers().firstValue("Accept-Ranges").orElse(""));
  }

  @Test
  void nar_rangeRequestGets206WithExactlyThoseBytes() throws Exception {
    CacheGenerator.GeneratedPath p = paths.get(2);
    byte[] whole = s3(p.narKey());
    HttpResponse<byte[]> r = get("/" + p.narKey(), "Range", "bytes=1000-");
    assertEquals(206, r.statusCode());
    assertEquals("bytes 1000-" + (whole.length - 1) + "/" + whole.length, r.headers().firstValue("Content-Range").orElse(""));
    assertArrayEquals(Arrays.copyOfRange(whole, 1000, whole.length), r.body());
    HttpResponse<byte[]> bad = get("/" + p.narKey(), "Range", "bytes=" + whole.length + "-");
    assertEquals(416, bad.statusCode());
    assertFalse(r.headers().firstValue("Content-Encoding").isPresent(), "never a Content-Encoding on NARs");
  }

  @Test
  void pipelinedRequests_areAnsweredInOrder_evenWhenTheFirstIsSlow() throws Exception {
    // Rebuilding the largest NAR from holders takes far longer than nix-cache-info.
    CacheGenerator.GeneratedPath big = paths.get(2);
    byte[] nar = s3(big.narKey());
    try (java.net.Socket s = new java.net.Socket(gateway.getHost(), gateway.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET /" + big.narKey() + " HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /nix-cache-info HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      java.io.DataInputStream in = new java.io.DataInputStream(new java.io.BufferedInputStream(s.getInputStream()));
      assertEquals(nar.length, readResponseBody(in, "application/x-nix-nar").length, "the NAR comes first");
      assertTrue(new String(readResponseBody(in, "text/x-nix-cache-info"), java.nio.charset.StandardCharsets.UTF_8)
          .contains("StoreDir: /nix/store"), "then the cache info");
    }
  }

  @Test
  void hostileRequests_areRefused_andHonestClientsAreStillServed() throws Exception {
    for (String path : List.of("/nar/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/x", "/a//b", "/log/../../x")) {
      assertEquals(404, get(path).statusCode(), path);
    }
    try (java.net.Socket s = new java.net.Socket(gateway.getHost(), gateway.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      assertEquals("HTTP/1.1 400", new String(s.getInputStream().readNBytes(12), java.nio.charset.StandardCharsets.US_ASCII));
    }
    try (java.net.Socket s = new java.net.Socket(gateway.getHost(), gateway.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET /nix-cache-info HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(40_000)
          + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      assertEquals("HTTP/1.1 431", new String(s.getInputStream().readNBytes(12), java.nio.charset.StandardCharsets.US_ASCII));
    }
    CacheGenerator.GeneratedPath p = paths.getFirst();
    assertArrayEquals(s3(p.narKey()), get("/" + p.narKey()).body(), "honest clients are served as before");
  }

  /** Reads one response with a Content-Length; checks its Content-Type. */
  private static byte[] readResponseBody(java.io.DataInputStream in, String contentType) throws Exception {
    long length = -1;
    String type = null;
    String line;
    StringBuilder head = new StringBuilder();
    while (!(line = readLine(in)).isEmpty()) {
      head.append(line).append('\n');
      String lower = line.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(line.substring(15).strip());
      } else if (lower.startsWith("content-type:")) {
        type = line.substring(13).strip();
      }
    }
    assertEquals(contentType, type, head.toString());
    byte[] body = new byte[Math.toIntExact(length)];
    in.readFully(body);
    return body;
  }

  private static String readLine(java.io.DataInputStream in) throws Exception {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) >= 0 && c != '\n') {
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  @Test
  void nar_wholeObjectIsTheOneS3Has() throws Exception {
    for (CacheGenerator.GeneratedPath p : paths) {
      HttpResponse<byte[]> r = get("/" + p.narKey());
      assertEquals(200, r.statusCode());
      assertArrayEquals(s3(p.narKey()), r.body(), p.narKey());
      assertTrue(r.headers().firstValue("Cache-Control").orElse("").contains("immutable"));
    }
  }

  @Test
  void otherKeys_areProxiedFromS3() throws Exception {
    cluster.objects.put("log/abc-foo.drv", "build log\n".getBytes(), "text/plain");
    HttpResponse<byte[]> r = get("/log/abc-foo.drv");
    assertEquals(200, r.statusCode());
    assertEquals("build log\n", new String(r.body()));
    assertEquals(10, r.headers().firstValueAsLong("Content-Length").orElse(-1));
    HttpResponse<Void> head = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/log/abc-foo.drv"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
    assertEquals(200, head.statusCode());
    assertEquals(10, head.headers().firstValueAsLong("Content-Length").orElse(-1), "HEAD tells the real length");
    assertEquals(404, get("/log/missing.drv").statusCode());
  }

  @Test
  void s3Objects_keepTheirRangeTypeAndEncoding() throws Exception {
    byte[] listing = "{\"version\":1}".getBytes();
    try (S3Client raw = S3Client.builder().endpointOverride(cluster.s3.endpoint()).forcePathStyle(true)
        .region(Region.of(EmbeddedS3.REGION)).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY))).build()) {
      // How Nix uploads .ls files and build logs: brotli, said in Content-Encoding.
      raw.putObject(b -> b.bucket(cluster.s3.config().bucket()).key("abcd.ls").contentType("application/json")
          .contentEncoding("br"), RequestBody.fromBytes(listing));
    }
    HttpResponse<byte[]> ls = get("/abcd.ls");
    assertEquals(200, ls.statusCode());
    assertEquals("br", ls.headers().firstValue("Content-Encoding").orElse(""));
    assertEquals("application/json", ls.headers().firstValue("Content-Type").orElse(""));
    assertArrayEquals(listing, ls.body());

    // A NAR only S3 has (not archived) honours Range like an archived one.
    String key = "nar/1111111111111111111111111111111111111111111111111111.nar.xz";
    byte[] nar = new byte[10_000];
    new java.util.Random(3).nextBytes(nar);
    cluster.objects.put(key, nar, "application/x-nix-nar");
    HttpResponse<byte[]> part = get("/" + key, "Range", "bytes=100-199");
    assertEquals(206, part.statusCode());
    assertEquals("bytes 100-199/10000", part.headers().firstValue("Content-Range").orElse(""));
    assertEquals("bytes", part.headers().firstValue("Accept-Ranges").orElse(""));
    assertArrayEquals(Arrays.copyOfRange(nar, 100, 200), part.body());
    HttpResponse<byte[]> past = get("/" + key, "Range", "bytes=20000-");
    assertEquals(416, past.statusCode());
    assertEquals("bytes */10000", past.headers().firstValue("Content-Range").orElse(""));
    HttpResponse<byte[]> whole = get("/" + key);
    assertEquals(200, whole.statusCode());
    assertEquals("application/x-nix-nar", whole.headers().firstValue("Content-Type").orElse(""));
    assertArrayEquals(nar, whole.body());
  }

  @Test
  void s3RefusingAccess_is503WithRetryAfter_neverA404() throws Exception {
    try (S3ObjectSource denied = new S3ObjectSource(cluster.s3.config().withCredentials(EmbeddedS3.ACCESS_KEY,
        "not-the-secret"));
        GatewayServer gw = GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50),
            new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), Optional.empty()), denied)) {
      for (String path : List.of("/00000000000000000000000000000000.narinfo", "/abc.ls", "/log/x.drv",
          "/nar/0000.nar.xz")) {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(gw.endpoint() + path)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(503, r.statusCode(), path);
        assertTrue(r.headers().firstValue("Retry-After").isPresent(), path);
      }
      // Archived paths do not need S3 at all.
      String known = paths.getFirst().storePath().hashPart() + ".narinfo";
      assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(gw.endpoint() + "/" + known)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode());
    }
  }

  @Test
  void everyMiss_answersTheSame404_andSpendsTheMissBudget() throws Exception {
    try (GatewayServer strict = GatewayServer.start(
        new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50).withMisses(new GatewayConfig.MissLimits(
            new GatewayConfig.Rate(0.001, 5), Duration.ofSeconds(60))),
        new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), Optional.empty()), cluster.objects)) {
      List<String> misses = List.of("/00000000000000000000000000000000.narinfo", "/abc.ls", "/log/missing.drv",
          "/nar/0000.nar.xz", "/realisations/sha256:00!out.doi");
      List<String> answers = new java.util.ArrayList<>();
      for (String path : misses) {
        HttpResponse<byte[]> r = HTTP.send(HttpRequest.newBuilder(URI.create(strict.endpoint() + path)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(404, r.statusCode(), path);
        answers.add(new String(r.body()) + r.headers().firstValue("Content-Type").orElse("")
            + r.headers().firstValueAsLong("Content-Length").orElse(-1));
      }
      assertEquals(1, answers.stream().distinct().count(), "misses look alike: " + answers);
      HttpResponse<byte[]> sixth = HTTP.send(HttpRequest.newBuilder(URI.create(strict.endpoint() + "/other.ls"))
          .build(), HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(429, sixth.statusCode(), "five misses on any routes spend the burst of five");
      assertTrue(sixth.headers().firstValueAsLong("Retry-After").orElse(0) >= 1);
    }
  }

  @Test
  void enumeration_isSlowedWithout404sForBackendsOrSlowingKnownPaths() throws Exception {
    try (GatewayServer strict = GatewayServer.start(
        new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50).withMisses(new GatewayConfig.MissLimits(
            new GatewayConfig.Rate(0.001, 5), Duration.ofSeconds(60))),
        new Archive(cluster.catalog, new HolderClient(
            Duration.ofSeconds(5)), Optional.empty()), cluster.objects)) {
      for (int i = 0; i < 5; i++) {
        String unknown = String.format("%032d", i).replace('0', 'a').replace('1', 'b').replace('2', 'c')
            .replace('3', 'd').replace('4', 'f');
        assertEquals(404, HTTP.send(HttpRequest.newBuilder(URI.create(strict.endpoint() + "/" + unknown + ".narinfo")).build(),
            HttpResponse.BodyHandlers.discarding()).statusCode(), "miss " + i + " is within the burst");
      }
      assertEquals(429, HTTP.send(HttpRequest.newBuilder(URI.create(strict.endpoint() + "/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.narinfo"))
          .build(), HttpResponse.BodyHandlers.discarding()).statusCode(), "the sixth miss in a row is refused");
      String known = paths.getFirst().storePath().hashPart() + ".narinfo";
      assertEquals(200, HTTP.send(HttpRequest.newBuilder(URI.create(strict.endpoint() + "/" + known)).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode(), "known paths are never slowed");
    }
  }

  @Test
  void metrics_countArchiveAndS3Answers() throws Exception {
    get("/" + paths.get(1).narKey());
    get("/" + paths.get(1).storePath().hashPart() + ".narinfo");
    String text = new String(get("/metrics").body());
    assertTrue(text.matches("(?s).*narvault_gateway_nar_archive_total [1-9].*"), text);
    assertTrue(text.matches("(?s).*narvault_gateway_narinfo_archive_total [1-9].*"), text);
    assertTrue(text.contains("narvault_gateway_responses_total{status=\"200\"}"), text);
  }
}
