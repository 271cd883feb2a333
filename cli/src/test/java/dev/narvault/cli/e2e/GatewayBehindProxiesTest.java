package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.gateway.server.Cidr;
import dev.narvault.gateway.server.ClientIdentity;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway behind a CDN with shielding, on loopback: clients on 127.0.0.10 and 127.0.0.11 ask
 * an edge proxy on 127.0.0.2, which asks a shield proxy on 127.0.0.3, which asks the gateway
 * (both proxies append {@code X-Forwarded-For}, hand-written: {@link ForwardingProxy}). Misses are
 * charged to the real client, never to a proxy (one budget per point of presence) nor to whoever
 * a client claims to be; the answers carry the caching a CDN needs.
 */
class GatewayBehindProxiesTest {
  private static final String EDGE = "127.0.0.2";
  private static final String SHIELD = "127.0.0.3";
  /** Three misses per client, refilled too slowly to matter during the test. */
  private static final GatewayConfig.MissLimits MISSES =
      new GatewayConfig.MissLimits(new GatewayConfig.Rate(0.001, 3), Duration.ofSeconds(30));

  @TempDir
  Path dir;

  private final List<AutoCloseable> running = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : running.reversed()) {
      c.close();
    }
  }

  private static HttpClient clientAt(String address) {
    return HttpClient.newBuilder().localAddress(InetAddress.ofLiteral(address)).build();
  }

  private static HttpResponse<byte[]> get(HttpClient client, URI base, String path, String... headers)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String header(HttpResponse<?> r, String name) {
    return r.headers().firstValue(name).orElse("(none)");
  }

  /** A missing narinfo of its own for each ask, so that no answer comes from the negative cache. */
  private int missing;

  private String missingNarInfo() {
    return "/" + String.format(java.util.Locale.ROOT, "%032d", missing++) + ".narinfo";
  }

  private Cluster cluster(int holders) throws Exception {
    Cluster cluster = new Cluster(dir.resolve("cluster"), holders);
    running.add(cluster);
    return cluster;
  }

  /** The gateway over the cluster's archive and bucket, with this client identity, behind edge and shield. */
  private URI behindProxies(Cluster cluster, ClientIdentity identity, Optional<String> edgeHeader) throws Exception {
    GatewayServer gateway = GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50)
            .withMisses(MISSES).withClientIdentity(identity),
        new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
            Optional.of(cluster.trustedArchiveKeys())),
        cluster.objects);
    running.add(gateway);
    gatewayEndpoint = gateway.endpoint();
    ForwardingProxy shield = ForwardingProxy.start(SHIELD, gateway.endpoint());
    running.add(shield);
    ForwardingProxy edge = edgeHeader.isPresent() ? ForwardingProxy.edge(EDGE, shield.endpoint(), edgeHeader.get())
        : ForwardingProxy.start(EDGE, shield.endpoint());
    running.add(edge);
    return edge.endpoint();
  }

  private URI gatewayEndpoint;

  private static final ClientIdentity PROXIES = new ClientIdentity(
      List.of(Cidr.parse(EDGE), Cidr.parse(SHIELD + "/32")), Optional.empty(), false);

  @Test
  void missesAreChargedToTheRealClient_whoCannotClaimToBeAnother_andAnswersCarryTheCachingACdnNeeds()
      throws Exception {
    Cluster cluster = cluster(6);
    NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, cluster.objects)
        .generate(List.of(40_000, 60_000, 80_000), 81, 2);
    Map<String, byte[]> original = DrainTest.objects(cluster, paths);
    assertEquals(2, cluster.migrate(cacheKey.publicKey(), 4, 2, 2).narsArchived());
    List<CacheGenerator.GeneratedPath> archived = new ArrayList<>();
    CacheGenerator.GeneratedPath inS3Only = null;
    for (CacheGenerator.GeneratedPath p : paths) {
      if (cluster.catalog.isArchived(p.storePath().hashPart())) {
        archived.add(p);
      } else {
        inS3Only = p;
      }
    }
    URI edge = behindProxies(cluster, PROXIES, Optional.empty());
    HttpClient x = clientAt("127.0.0.10");
    HttpClient y = clientAt("127.0.0.11");
    HttpClient direct = clientAt("127.0.0.12");

    // Client x spends its three misses, then is refused; the 404s are kept as long as the
    // gateway's negative TTL, the 429 never.
    for (int i = 0; i < 3; i++) {
      HttpResponse<byte[]> miss = get(x, edge, missingNarInfo());
      assertEquals(404, miss.statusCode());
      assertEquals("public, max-age=30", header(miss, "Cache-Control"));
    }
    HttpResponse<byte[]> limited = get(x, edge, missingNarInfo());
    assertEquals(429, limited.statusCode());
    assertEquals("no-store", header(limited, "Cache-Control"));
    assertTrue(Long.parseLong(header(limited, "Retry-After")) > 0);

    // Client y comes through the same edge and shield: its budget is its own, not the proxies'.
    for (int i = 0; i < 3; i++) {
      assertEquals(404, get(y, edge, missingNarInfo()).statusCode(), "y's miss " + i + " is y's");
    }
    assertEquals(429, get(y, edge, missingNarInfo()).statusCode());
    // Claiming to be someone else, or a trusted proxy, gets y nothing: the edge wrote y's address.
    assertEquals(429, get(y, edge, missingNarInfo(), "X-Forwarded-For", "127.0.0.99").statusCode());
    assertEquals(429, get(y, edge, missingNarInfo(), "X-Forwarded-For", SHIELD + ", " + EDGE).statusCode());
    // A client that reaches the gateway itself names nobody either.
    for (int i = 0; i < 3; i++) {
      assertEquals(404, get(direct, gatewayEndpoint, missingNarInfo(), "X-Forwarded-For", "127.0.0.5" + i)
          .statusCode());
    }
    assertEquals(429, get(direct, gatewayEndpoint, missingNarInfo(), "X-Forwarded-For", "127.0.0.59").statusCode());
    // Archived paths never touch the miss budget: x, out of misses, still gets them.
    CacheGenerator.GeneratedPath a = archived.get(0);
    HttpResponse<byte[]> info = get(x, edge, "/" + a.storePath().hashPart() + ".narinfo");
    assertEquals(200, info.statusCode());
    assertEquals("public, max-age=3600", header(info, "Cache-Control"), "a narinfo from the catalog: an hour");
    // (What S3 alone may have is refused to a client out of misses: z asks for it.)
    HttpClient z = clientAt("127.0.0.13");
    HttpResponse<byte[]> s3Info = get(z, edge, "/" + inS3Only.storePath().hashPart() + ".narinfo");
    assertEquals(200, s3Info.statusCode());
    assertEquals("public, max-age=3600", header(s3Info, "Cache-Control"), "a narinfo from S3: the same");

    // An archived NAR: immutable for a year, its FileHash the ETag; asked again with it, 304.
    String fileHash = NarInfo.parse(new String(info.body(), StandardCharsets.UTF_8)).fileHash().orElseThrow()
        .toNixString();
    HttpResponse<byte[]> nar = get(x, edge, "/" + a.narKey());
    assertEquals(200, nar.statusCode());
    assertArrayEquals(original.get(a.narKey()), nar.body());
    assertEquals("public, max-age=31536000, immutable", header(nar, "Cache-Control"));
    assertEquals("\"" + fileHash + "\"", header(nar, "ETag"));
    HttpResponse<byte[]> again = get(x, edge, "/" + a.narKey(), "If-None-Match", "\"" + fileHash + "\"");
    assertEquals(304, again.statusCode());
    assertEquals(0, again.body().length);
    assertEquals("\"" + fileHash + "\"", header(again, "ETag"));
    assertEquals("public, max-age=31536000, immutable", header(again, "Cache-Control"));
    assertEquals(304, get(x, edge, "/" + a.narKey(), "If-None-Match", "\"sha256:other\", W/\"" + fileHash + "\"",
        "Range", "bytes=0-99").statusCode(), "any listed tag, weak or not, whatever the range");
    assertEquals(200, get(x, edge, "/" + a.narKey(), "If-None-Match", "\"sha256:other\"").statusCode());
    // A NAR only S3 has: the same caching (no ETag: the gateway passes S3's on to nobody).
    HttpResponse<byte[]> s3Nar = get(z, edge, "/" + inS3Only.narKey());
    assertEquals(200, s3Nar.statusCode());
    assertArrayEquals(original.get(inS3Only.narKey()), s3Nar.body());
    assertEquals("public, max-age=31536000, immutable", header(s3Nar, "Cache-Control"));

    // Holders and S3 both unable before a byte went out: 503, to retry, never stored.
    CacheGenerator.GeneratedPath b = archived.get(1);
    cluster.objects.delete(b.narKey());
    var pack = cluster.catalog.narByStoreHash(b.storePath().hashPart()).orElseThrow().packId();
    List<Integer> holdersOfTheFirstBytes = List.of(cluster.holderOf(pack, 0), cluster.holderOf(pack, 1),
        cluster.holderOf(pack, 2));
    holdersOfTheFirstBytes.forEach(cluster::stopHolder);
    HttpResponse<byte[]> unavailable = get(x, edge, "/" + b.narKey());
    assertEquals(503, unavailable.statusCode());
    assertEquals("no-store", header(unavailable, "Cache-Control"));
    assertEquals("5", header(unavailable, "Retry-After"));
  }

  @Test
  void aClientAddressHeader_setByTheEdge_namesTheClient_andNobodyElseCanSetIt() throws Exception {
    Cluster cluster = cluster(1);
    ClientIdentity identity = new ClientIdentity(PROXIES.trustedProxies(), Optional.of("Fastly-Client-IP"), false);
    URI edge = behindProxies(cluster, identity, Optional.of("Fastly-Client-IP"));
    HttpClient x = clientAt("127.0.0.10");
    HttpClient y = clientAt("127.0.0.11");
    for (int i = 0; i < 3; i++) {
      assertEquals(404, get(x, edge, missingNarInfo(), "Fastly-Client-IP", "127.0.0.11").statusCode());
    }
    assertEquals(429, get(x, edge, missingNarInfo(), "Fastly-Client-IP", "127.0.0.11").statusCode(),
        "x's claim to be y was overwritten by the edge: x's misses are x's");
    assertEquals(404, get(y, edge, missingNarInfo()).statusCode(), "y's budget is untouched");
    HttpClient direct = clientAt("127.0.0.12");
    for (int i = 0; i < 3; i++) {
      assertEquals(404, get(direct, gatewayEndpoint, missingNarInfo(), "Fastly-Client-IP", "127.0.0.2" + i)
          .statusCode());
    }
    assertEquals(429, get(direct, gatewayEndpoint, missingNarInfo(), "Fastly-Client-IP", "127.0.0.29").statusCode(),
        "from an untrusted peer the header is ignored");
  }
}
