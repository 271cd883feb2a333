package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.Promotion;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * Cold means unused, against S3Proxy: request logs imported with {@code narvault access import},
 * a channel's {@code store-paths.xz} as hot roots, the gateway's own records, and promote.
 *
 * <p>The cache: six NARs, the first five uploaded 400 days ago. A CloudFront log shows a request
 * for path 0's NAR five days ago (and for path 3's 300 days ago); a Fastly log shows path 1's
 * narinfo requested six days ago; an S3 access log shows path 4's NAR uploaded again three days
 * ago (an upload, not a request); path 2 is in a hot root's closure (root → mid → path 2). Path 5
 * was uploaded today.
 */
class ColdByUseTest {
  private static final Duration WINDOW = Duration.ofDays(180);
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  private record Cache(NixSecretKey key, List<CacheGenerator.GeneratedPath> paths, Map<String, byte[]> original,
      Path storePaths, List<Path> logs, List<String> hotNarinfos) {
    String hash(int i) {
      return paths.get(i).storePath().hashPart();
    }

    ColdSelection byUse() {
      return new ColdSelection(Optional.empty(), Optional.empty(), Optional.empty()).withUse(Optional.of(WINDOW),
          List.of(storePaths));
    }
  }

  private Cache cache(Cluster cluster) throws Exception {
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
        .generate(List.of(20_000, 25_000, 30_000, 35_000, 40_000, 45_000), 51, 2);
    Map<String, byte[]> original = DrainTest.objects(cluster, paths);
    for (int i = 0; i < 5; i++) {
      DrainTest.age(cluster, paths.get(i).narKey(), Duration.ofDays(400));
    }
    // A release's root, whose closure reaches path 2 through a path in between.
    StorePath mid = narinfoOnly(cluster, key, "mid", List.of(paths.get(2).storePath()));
    StorePath root = narinfoOnly(cluster, key, "root", List.of(mid));
    Path storePaths = dir.resolve("store-paths.xz");
    try (OutputStream out = new XZOutputStream(Files.newOutputStream(storePaths), new LZMA2Options())) {
      out.write((root + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Instant now = Instant.now();
    Path cloudFront = dir.resolve("E2EXAMPLE.2024-05-01-10.abcdef.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(cloudFront))) {
      out.write(("#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
          + "sc-status\n" + cloudFrontLine(now.minus(Duration.ofDays(5)), paths.get(0).narKey())
          + cloudFrontLine(now.minus(Duration.ofDays(300)), paths.get(3).narKey())
          + "this line is junk\n").getBytes(StandardCharsets.UTF_8));
    }
    DateTimeFormatter clf = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneOffset.UTC);
    Path fastly = Files.writeString(dir.resolve("fastly.log"), "<134>" + now + " cache-fra nixcache[1]: 203.0.113.9 "
        + "- - [" + clf.format(now.minus(Duration.ofDays(6))) + "] \"GET /" + paths.get(1).storePath().hashPart()
        + ".narinfo HTTP/1.1\" 200 512 \"-\" \"Nix/2.18.1\"\n");
    Path s3 = Files.writeString(dir.resolve("s3-access.log"), "79a59df9 cache [" + clf.format(now.minus(
        Duration.ofDays(3))) + "] 192.0.2.3 arn:aws:iam::1:user/hydra 3E57427F REST.PUT.OBJECT "
        + paths.get(4).narKey() + " \"PUT /cache/" + paths.get(4).narKey() + " HTTP/1.1\" 200 - - 35000 70 - \"-\" "
        + "\"hydra\" - x SigV4\n");
    return new Cache(key, paths, original, storePaths, List.of(cloudFront, fastly, s3),
        List.of(root.hashPart(), mid.hashPart()));
  }

  private static String cloudFrontLine(Instant at, String narKey) {
    String date = DateTimeFormatter.ISO_LOCAL_DATE.withZone(ZoneOffset.UTC).format(at);
    String time = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC).format(at);
    return date + "\t" + time + "\tFRA56-P1\t2048\t192.0.2.1\tGET\td111.cloudfront.net\t/" + narKey + "\t200\n";
  }

  /** A signed narinfo with references and no NAR object: a root or a path in between. */
  private static StorePath narinfoOnly(Cluster cluster, NixSecretKey key, String name, List<StorePath> refs)
      throws Exception {
    Sha256Hash h = Sha256Hash.of(name.getBytes(StandardCharsets.UTF_8));
    StorePath path = StorePath.makeSourcePath(name, h, refs);
    NarInfo info = key.sign(NarInfo.create(path, "nar/" + h.toNix32() + ".nar.xz", "xz", h, 10, h, 10, refs));
    cluster.objects.put(path.hashPart() + ".narinfo", info.toBytes(), "text/x-nix-narinfo");
    return path;
  }

  private static void importLogs(Cluster cluster, Cache cache) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    List<String> args = new java.util.ArrayList<>(List.of("access", "import", "--catalog", cluster.catalogUrl));
    cache.logs().forEach(p -> args.add(p.toString()));
    int status = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8)).execute(args.toArray(String[]::new));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, printed);
    assertTrue(printed.contains("3 requests recorded, 1 bad line"), printed);
  }

  private static DrainConfig delete(Cluster cluster) {
    return DrainConfig.delete(cluster.trustedArchiveKeys());
  }

  @Test
  void aDrainByUse_takesOnlyWhatNobodyRequested_andNothingOfAHotClosure() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Cache cache = cache(cluster);
      importLogs(cluster, cache);
      MigrationSummary s = cluster.migrate(cache.key().publicKey(), 4, 2, cache.byUse(), delete(cluster));
      assertEquals(2, s.narsArchived(), s.toString());
      assertEquals(2, s.drain().objects(), s.toString());
      assertEquals(new MigrationSummary.Kept(3, 2), s.kept(), "root, mid and path 2 hot; paths 0 and 1 requested");
      for (int i = 0; i < 6; i++) {
        boolean drained = i == 3 || i == 4;
        assertEquals(!drained, DrainTest.exists(cluster, cache.paths().get(i).narKey()), "path " + i);
        assertEquals(drained, cluster.catalog.isArchived(cache.hash(i)), "path " + i);
      }
      RepairTest.assertReadsBack(cluster, cache.original());
    }
  }

  @Test
  void aNarArchivedBeforeItWasRequested_isNotDrained() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Cache cache = cache(cluster);
      // Archived as "uploaded long ago" (a dry run), before anyone looked at the logs.
      MigrationSummary dry = cluster.migrate(cache.key().publicKey(), 4, 2,
          new ColdSelection(Optional.of(WINDOW), Optional.empty(), Optional.empty()), DrainConfig.DRY_RUN);
      assertEquals(5, dry.narsArchived(), dry.toString());
      importLogs(cluster, cache);
      MigrationSummary s = cluster.migrate(cache.key().publicKey(), 4, 2, cache.byUse(), delete(cluster));
      assertEquals(2, s.drain().objects(), s.toString());
      for (int i = 0; i < 5; i++) {
        boolean drained = i == 3 || i == 4;
        assertEquals(Optional.of(drained ? Journal.State.DRAINED : Journal.State.COMMITTED),
            cluster.catalog.journal().state(cache.hash(i)), "path " + i);
        assertEquals(!drained, DrainTest.exists(cluster, cache.paths().get(i).narKey()), "path " + i);
      }
      assertEquals(3, s.drain().pendingObjects(), "archived and kept in S3 while in use");
    }
  }

  @Test
  void aNarTheGatewayServedOften_isPromotedBackToS3_andServedFromThere() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Cache cache = cache(cluster);
      MigrationSummary drained = cluster.migrate(cache.key().publicKey(), 4, 2, cache.byUse(), delete(cluster));
      assertEquals(4, drained.drain().objects(), "nothing imported: only the hot closure is kept");
      String hot = cache.paths().get(3).narKey();
      String once = cache.paths().get(4).narKey();
      assertFalse(DrainTest.exists(cluster, hot));
      URI gateway = cluster.startGateway();
      for (int i = 0; i < 12; i++) {
        assertArrayEquals(cache.original().get(hot), get(gateway, hot).body());
      }
      assertEquals(200, get(gateway, once).statusCode());
      cluster.gatewayAccess.flush();
      assertEquals(12, cluster.catalog.access().get(cache.hash(3)).orElseThrow().requests());

      Promotion.Config config = new Promotion.Config(Duration.ofDays(7), 10, false, 0, dir.resolve("promote"));
      Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey())));
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      Promotion.Result dryRun = new Promotion(new Promotion.Config(Duration.ofDays(7), 10, true, 0,
          dir.resolve("promote")), cluster.catalog, archive, cluster.objects, "cache", quiet, Clock.systemUTC()).run();
      assertEquals(1, dryRun.promoted());
      assertFalse(DrainTest.exists(cluster, hot), "a dry run puts nothing back");
      Promotion.Result promoted = new Promotion(config, cluster.catalog, archive, cluster.objects, "cache", quiet,
          Clock.systemUTC()).run();
      assertEquals(1, promoted.promoted(), promoted.toString());
      assertEquals(0, promoted.failed(), promoted.failures().toString());
      assertArrayEquals(cache.original().get(hot), DrainTest.read(cluster, hot), "back byte for byte");
      assertEquals(Optional.of(Journal.State.RESTORED), cluster.catalog.journal().state(cache.hash(3)));
      assertEquals(Optional.of(Journal.State.DRAINED), cluster.catalog.journal().state(cache.hash(4)),
          "requested once: not hot");
      assertFalse(DrainTest.exists(cluster, once));
      Promotion.Result again = new Promotion(config, cluster.catalog, archive, cluster.objects, "cache", quiet,
          Clock.systemUTC()).run();
      assertEquals(0, again.promoted());
      assertEquals(1, again.stillInS3());

      // The gateway serves it from S3 now (not from its rebuilt copy): with every holder gone it
      // still answers, while a drained NAR it never rebuilt does not.
      for (int i = 0; i < cluster.holders.size(); i++) {
        cluster.stopHolder(i);
      }
      long fromS3 = s3Served(gateway);
      assertArrayEquals(cache.original().get(hot), get(gateway, hot).body());
      assertEquals(fromS3 + 1, s3Served(gateway));
      assertNotEquals(200, get(gateway, cache.paths().get(0).narKey()).statusCode(), "a drained one needs its holders");

      // A later drain by use leaves it in S3 while it is requested.
      cluster.gatewayAccess.flush();
      for (int i = 0; i < cluster.holders.size(); i++) {
        cluster.restartHolder(i);
      }
      cluster.awaitRegistered();
      MigrationSummary later = cluster.migrate(cache.key().publicKey(), 4, 2, cache.byUse(), delete(cluster));
      assertEquals(0, later.drain().objects(), later.toString());
      assertTrue(DrainTest.exists(cluster, hot));
      assertEquals(Optional.of(Journal.State.RESTORED), cluster.catalog.journal().state(cache.hash(3)));
    }
  }

  private static long s3Served(URI gateway) throws Exception {
    String metrics = new String(get(gateway, "metrics").body(), StandardCharsets.UTF_8);
    return metrics.lines().filter(l -> l.startsWith("narvault_gateway_s3_total ")).mapToLong(
        l -> Long.parseLong(l.substring(l.indexOf(' ') + 1))).findFirst().orElseThrow();
  }

  private static HttpResponse<byte[]> get(URI gateway, String key) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/" + key)).timeout(Duration.ofSeconds(60)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }
}
