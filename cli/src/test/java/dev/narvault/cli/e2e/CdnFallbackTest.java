package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.PackId;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrationSummary;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CDN recipe of {@code docs/operations.md}, for real: Debian's nginx with the documented
 * fragment ({@code docs/cdn/nginx-fallback.conf}, only its addresses replaced) in front of the
 * bucket (S3Proxy, read anonymously as a public cache bucket is) with the gateway as the fallback
 * for drained NARs, and the real {@code nix} substituting through it.
 */
class CdnFallbackTest {
  private static final Path RECIPE = Path.of("..", "docs", "cdn", "nginx-fallback.conf");
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir
  Path dir;

  @BeforeEach
  void needsNixAndNginx() {
    assumeTrue(RealNix.available(), "nix-store is not installed (.ci/run installs nix-bin)");
    assumeTrue(Files.isExecutable(Nginx.BINARY), "nginx is not installed (.ci/run installs nginx-light)");
  }

  @Test
  void nixSubstitutesDrainedPathsThroughTheProxy_fromTheGateway_andHotOnesFromTheBucket() throws Exception {
    NixCache nix = NixCache.create(dir.resolve("nix"));
    try (Cluster cluster = new Cluster(dir.resolve("cluster"), 14)) {
      nix.addPaths(dir.resolve("nix"), "xz");
      nix.addPaths(dir.resolve("nix"), "zstd");
      Path cacheDir = nix.cacheDir(dir.resolve("nix"));
      cluster.upload(cacheDir);
      List<StorePath> cold = new ArrayList<>();
      for (int i = 0; i < nix.paths.size(); i += 2) {
        StorePath p = nix.paths.get(i);
        DrainTest.age(cluster, NixCache.narInfo(cacheDir, p).url(), Duration.ofDays(200));
        cold.add(p);
      }
      MigrationSummary summary = cluster.migrate(nix.publicKey, 10, 4,
          new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.empty()),
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      assertEquals(cold.size(), summary.narsArchived(), summary.toString());
      for (StorePath p : cold) {
        assertFalse(DrainTest.exists(cluster, NixCache.narInfo(cacheDir, p).url()), p + " drained from S3");
      }
      URI gateway = cluster.startGateway();
      try (PublicBucket bucket = PublicBucket.start(cluster.dir.resolve("s3"));
          Nginx proxy = Nginx.start(dir.resolve("nginx"), bucket.endpoint(), gateway)) {
        double archivedBefore = metric(gateway, "narvault_gateway_nar_archive_bytes_total");
        nix.deleteLocal();
        RealNix.Result result = RealNix.realise(proxy.endpoint().toString(), nix.publicKey, nix.paths);
        assertEquals(0, result.exitCode(), result.output());
        for (StorePath p : nix.paths) {
          assertTrue(Files.exists(Path.of(p.toString())), p + " was not substituted");
          assertEquals(NixCache.narInfo(cacheDir, p).narHash(), NixCache.localNarHash(p), p.toString());
        }
        // The drained NARs came from the holders through the gateway: every one of their bytes.
        long drainedBytes = 0;
        for (StorePath p : cold) {
          drainedBytes += NixCache.narInfo(cacheDir, p).fileSize().orElseThrow();
        }
        assertEquals(drainedBytes, metric(gateway, "narvault_gateway_nar_archive_bytes_total") - archivedBefore, 0.5);

        // Twice through the proxy: the second answer is the proxy's cached copy, byte for byte.
        NarInfo info = NixCache.narInfo(cacheDir, cold.getFirst());
        HttpResponse<byte[]> first = get(proxy.endpoint().resolve("/" + info.url()));
        HttpResponse<byte[]> second = get(proxy.endpoint().resolve("/" + info.url()));
        assertEquals(200, first.statusCode());
        assertEquals(200, second.statusCode());
        assertEquals(info.fileHash().orElseThrow().toHex(), sha256(second.body()));
        assertEquals("HIT", second.headers().firstValue("X-Cache-Status").orElse(""));
        // A narinfo missing from the bucket is a plain miss: it does not fall back to the gateway.
        assertEquals(404, get(proxy.endpoint().resolve("/" + "0".repeat(32) + ".narinfo")).statusCode());
      }
    } finally {
      nix.deleteLocal();
    }
  }

  @Test
  void aNarTheHoldersCannotServeNow_is503WithRetryAfter_andNeverCachedByTheProxy() throws Exception {
    NixCache nix = NixCache.create(dir.resolve("nix"));
    try (Cluster cluster = new Cluster(dir.resolve("cluster"), 14)) {
      nix.addPaths(dir.resolve("nix"), "xz");
      Path cacheDir = nix.cacheDir(dir.resolve("nix"));
      cluster.upload(cacheDir);
      for (StorePath p : nix.paths) {
        DrainTest.age(cluster, NixCache.narInfo(cacheDir, p).url(), Duration.ofDays(200));
      }
      cluster.migrate(nix.publicKey, 10, 4,
          new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.empty()),
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      StorePath first = nix.paths.getFirst();
      assertFalse(DrainTest.exists(cluster, NixCache.narInfo(cacheDir, first).url()), first + " drained from S3");
      ArchivedNar nar = cluster.catalog.narByStoreHash(first.hashPart()).orElseThrow();
      PackId pack = nar.packId();
      // Every data fragment's holder down: 4 of 14 left, fewer than k = 10, wherever the NAR lies.
      for (int i = 0; i < 10; i++) {
        cluster.stopHolder(cluster.holderOf(pack, i));
      }
      URI gateway = cluster.startGateway();
      try (PublicBucket bucket = PublicBucket.start(cluster.dir.resolve("s3"));
          Nginx proxy = Nginx.start(dir.resolve("nginx"), bucket.endpoint(), gateway)) {
        URI url = proxy.endpoint().resolve("/" + nar.fileKey());
        for (int attempt = 0; attempt < 2; attempt++) {
          HttpResponse<byte[]> r = get(url);
          assertEquals(503, r.statusCode(), "attempt " + attempt + ": " + r.headers().map());
          assertTrue(r.headers().firstValue("Retry-After").isPresent(), "Retry-After passed on");
          assertFalse(r.headers().firstValue("X-Cache-Status").orElse("").equals("HIT"),
              "a 503 must never come from the proxy's cache");
        }
      }
    } finally {
      nix.deleteLocal();
    }
  }

  private static HttpResponse<byte[]> get(URI url) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(60)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** A counter from the gateway's /metrics (0 when absent). */
  private static double metric(URI gateway, String name) throws Exception {
    String body = new String(get(gateway.resolve("/metrics")).body(), java.nio.charset.StandardCharsets.UTF_8);
    return body.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
        .findFirst().orElse(0);
  }

  /** The cluster's bucket as the public reads it: a second S3Proxy over the same directory, without credentials. */
  private record PublicBucket(S3Proxy proxy, BlobStoreContext context) implements AutoCloseable {
    /**
     * S3Proxy keeps {@code Content-Encoding: aws-chunked} from the SDK's uploads (an xattr of its
     * filesystem store) and sends it on, which S3 does not: a proxy in front passes headers as
     * they are, so it is removed here as S3 would have.
     */
    static PublicBucket start(Path s3Dir) throws Exception {
      try (var files = Files.walk(s3Dir)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          var xattrs = Files.getFileAttributeView(f, java.nio.file.attribute.UserDefinedFileAttributeView.class);
          if (xattrs.list().contains("user.content-encoding")) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(xattrs.size("user.content-encoding"));
            xattrs.read("user.content-encoding", b);
            if ("aws-chunked".equals(new String(b.array(), java.nio.charset.StandardCharsets.UTF_8))) {
              xattrs.delete("user.content-encoding");
            }
          }
        }
      }
      java.util.Properties properties = new java.util.Properties();
      properties.setProperty("jclouds.filesystem.basedir", s3Dir.toString());
      BlobStoreContext context = ContextBuilder.newBuilder("filesystem").credentials("local", "local")
          .overrides(properties).build(BlobStoreContext.class);
      S3Proxy proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
          .awsAuthentication(AuthenticationType.NONE, null, null).ignoreUnknownHeaders(true).build();
      proxy.start();
      for (int i = 0; i < 3000 && !"STARTED".equals(proxy.getState()); i++) {
        Thread.sleep(10);
      }
      assertEquals("STARTED", proxy.getState());
      return new PublicBucket(proxy, context);
    }

    URI endpoint() {
      return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    @Override
    public void close() throws Exception {
      try {
        proxy.stop();
      } finally {
        context.close();
      }
    }
  }

  /** nginx in the foreground with the recipe, its addresses replaced, and nothing else but file paths. */
  private record Nginx(Process process, URI endpoint) implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/sbin/nginx");

    static Nginx start(Path home, URI bucket, URI gateway) throws Exception {
      Files.createDirectories(home.resolve("temp"));
      Files.createDirectories(home.resolve("cache"));
      int port;
      try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        port = s.getLocalPort();
      }
      String recipe = Files.readString(RECIPE);
      String site = recipe.replace("127.0.0.1:9000", bucket.getAuthority())
          .replace("127.0.0.1:8080", gateway.getAuthority())
          .replace("127.0.0.1:8000", "127.0.0.1:" + port);
      assertFalse(site.contains("127.0.0.1:9000") || site.contains("127.0.0.1:8080"), "every address replaced");
      Files.writeString(home.resolve("narvault.conf"), site);
      String t = home.resolve("temp").toString();
      Files.writeString(home.resolve("nginx.conf"), String.join("\n",
          "user root;",
          "worker_processes 1;",
          "daemon off;",
          "pid " + home.resolve("nginx.pid") + ";",
          "error_log " + home.resolve("error.log") + " info;",
          "events { worker_connections 256; }",
          "http {",
          "  access_log " + home.resolve("access.log") + ";",
          "  client_body_temp_path " + t + "/body;",
          "  proxy_temp_path " + t + "/proxy;",
          "  fastcgi_temp_path " + t + "/fastcgi;",
          "  uwsgi_temp_path " + t + "/uwsgi;",
          "  scgi_temp_path " + t + "/scgi;",
          "  include " + home.resolve("narvault.conf") + ";",
          "}", ""));
      Process p = new ProcessBuilder(BINARY.toString(), "-p", home + "/", "-e", home.resolve("error.log").toString(),
          "-c", home.resolve("nginx.conf").toString())
          .redirectErrorStream(true).redirectOutput(home.resolve("stdout.log").toFile()).start();
      Nginx nginx = new Nginx(p, URI.create("http://127.0.0.1:" + port));
      for (int i = 0; i < 500; i++) {
        if (!p.isAlive()) {
          throw new IOException("nginx exited: " + Files.readString(home.resolve("error.log")));
        }
        try (Socket s = new Socket()) {
          s.connect(new InetSocketAddress("127.0.0.1", port), 100);
          return nginx;
        } catch (IOException notYet) {
          Thread.sleep(20);
        }
      }
      nginx.close();
      throw new IOException("nginx did not listen on " + port + " within 10 s");
    }

    @Override
    public void close() throws Exception {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
