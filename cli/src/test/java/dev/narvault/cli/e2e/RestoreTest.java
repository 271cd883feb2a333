package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.S3Config;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.Restoration;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
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
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code narvault restore} against S3Proxy with real holders on loopback: drained NARs go back
 * into a bucket byte for byte, only those listed, a killed run is finished without uploading
 * again what it did, lying holders and a narinfo that does not match put nothing, and what the
 * bucket has already is checked, not uploaded.
 */
class RestoreTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  /** Six NARs in small packs (spread over every holder), archived and all drained. */
  private record Drained(NixSecretKey key, List<CacheGenerator.GeneratedPath> paths, Map<String, byte[]> original) {
    String hash(int i) {
      return paths.get(i).storePath().hashPart();
    }

    String narKey(int i) {
      return paths.get(i).narKey();
    }
  }

  private static Drained drained(Cluster cluster) throws Exception {
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
        .generate(List.of(20_000, 45_000, 70_000, 95_000, 120_000, 150_000), 61, 2);
    Map<String, byte[]> original = DrainTest.objects(cluster, paths);
    cluster.migrate(key.publicKey(), 4, 2, 0, 100_000);
    MigrationSummary s = cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL,
        DrainConfig.delete(cluster.trustedArchiveKeys()));
    assertEquals(6, s.drain().objects(), s.toString());
    for (CacheGenerator.GeneratedPath p : paths) {
      assertFalse(DrainTest.exists(cluster, p.narKey()));
    }
    return new Drained(key, paths, original);
  }

  private static Archive archive(Cluster cluster) {
    return new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
        Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey())));
  }

  private Restoration.Result restore(Cluster cluster, ObjectSource to, String bucket, Optional<Path> paths)
      throws Exception {
    return new Restoration(new Restoration.Config(paths, bucket, Optional.empty(), dir.resolve("restore-work")),
        cluster.catalog, archive(cluster), to, quiet(), quiet(), Clock.systemUTC()).run();
  }

  private static PrintStream quiet() {
    return new PrintStream(OutputStream.nullOutputStream());
  }

  /** Another bucket on the cluster's S3Proxy. */
  private static S3ObjectSource bucket(Cluster cluster, String name) throws Exception {
    S3Config c = cluster.s3.config();
    S3ObjectSource b = new S3ObjectSource(new S3Config(c.endpoint(), name, c.region(), c.accessKey(), c.secretKey()));
    b.createBucket();
    return b;
  }

  private static byte[] read(ObjectSource objects, String key) throws Exception {
    try (InputStream in = objects.open(key)) {
      return in.readAllBytes();
    }
  }

  @Test
  void restoreAll_putsDrainedNarsBackByteForByte_andTheGatewayServesThemFromS3() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      Restoration.Result r = restore(cluster, cluster.objects, "cache", Optional.empty());
      assertEquals(new Restoration.Result(6, 6, sum(d), 0, 0, 0, List.of()), r);
      for (int i = 0; i < 6; i++) {
        assertArrayEquals(d.original().get(d.narKey(i)), DrainTest.read(cluster, d.narKey(i)), "path " + i);
        assertEquals(Optional.of(Journal.State.RESTORED), cluster.catalog.journal().state(d.hash(i)));
        assertEquals(Optional.of("cache"), cluster.catalog.journal().restoredTo(d.hash(i)));
      }
      Restoration.Result again = restore(cluster, cluster.objects, "cache", Optional.empty());
      assertEquals(new Restoration.Result(6, 0, 0, 0, 6, 0, List.of()), again, "nothing to do twice");

      // Served from S3 now: with every holder gone the gateway still answers.
      URI gateway = cluster.startGateway();
      for (int i = 0; i < cluster.holders.size(); i++) {
        cluster.stopHolder(i);
      }
      HttpResponse<byte[]> got = HTTP.send(HttpRequest.newBuilder(URI.create(gateway + "/" + d.narKey(5)))
          .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, got.statusCode());
      assertArrayEquals(d.original().get(d.narKey(5)), got.body());
    }
  }

  private static long sum(Drained d) {
    return d.original().values().stream().mapToLong(b -> b.length).sum();
  }

  @Test
  void restorePaths_restoresOnlyThose_intoAnotherBucket_inItsStorageClass() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6); S3ObjectSource other = bucket(cluster, "restored")) {
      Drained d = drained(cluster);
      Path list = Files.writeString(dir.resolve("paths.txt"), "# two of them\n" + d.paths().get(1).storePath()
          + "\n\n" + d.hash(4) + "\n" + d.hash(1) + "\n");
      Restoration.Result r = new Restoration(new Restoration.Config(Optional.of(list), "restored",
          Optional.of("STANDARD_IA"), dir.resolve("work")), cluster.catalog, archive(cluster), other, quiet(), quiet(),
          Clock.systemUTC()).run();
      assertEquals(2, r.selected(), r.toString());
      assertEquals(2, r.uploaded(), r.toString());
      for (int i = 0; i < 6; i++) {
        boolean listed = i == 1 || i == 4;
        if (listed) {
          assertArrayEquals(d.original().get(d.narKey(i)), read(other, d.narKey(i)), "path " + i);
          assertEquals("STANDARD_IA", storageClass(cluster, "restored", d.narKey(i)));
        } else {
          int path = i;
          assertThrows(ObjectNotFoundException.class, () -> other.stat(d.narKey(path)), "path " + i);
        }
        assertFalse(DrainTest.exists(cluster, d.narKey(i)), "the cache's bucket is not touched");
        assertEquals(Optional.of(listed ? Journal.State.RESTORED : Journal.State.DRAINED),
            cluster.catalog.journal().state(d.hash(i)), "path " + i);
      }
      assertEquals(Optional.of("restored"), cluster.catalog.journal().restoredTo(d.hash(4)));

      // The same list into the cache's own bucket: the journal has them in "restored" only.
      Restoration.Result back = restore(cluster, cluster.objects, "cache", Optional.of(list));
      assertEquals(2, back.uploaded(), back.toString());
      assertArrayEquals(d.original().get(d.narKey(4)), DrainTest.read(cluster, d.narKey(4)));
    }
  }

  /** The storage class S3Proxy reports for an object (HEAD), through the SDK itself. */
  private static String storageClass(Cluster cluster, String bucket, String key) {
    try (S3Client s3 = S3Client.builder().endpointOverride(cluster.s3.endpoint()).forcePathStyle(true)
        .region(Region.US_EAST_1).credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
            EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY))).build()) {
      return s3.headObject(b -> b.bucket(bucket).key(key)).storageClassAsString();
    }
  }

  @Test
  void aRunKilledAfterAnUpload_isFinishedWithoutUploadingAgainWhatItDid() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      RecordingObjects dying = new RecordingObjects(cluster.objects);
      dying.afterPut = () -> {
        if (dying.puts.size() == 3) {
          throw new Killed();
        }
      };
      assertThrows(Killed.class, () -> restore(cluster, dying, "cache", Optional.empty()));
      List<String> before = List.copyOf(dying.puts);
      assertEquals(3, before.size());
      int journalled = 0;
      for (int i = 0; i < 6; i++) {
        journalled += cluster.catalog.journal().isRestoredIn(d.narKey(i), "cache") ? 1 : 0;
      }
      assertEquals(2, journalled, "the third was put, and the run died before journalling it");

      RecordingObjects rerun = new RecordingObjects(cluster.objects);
      Restoration.Result r = restore(cluster, rerun, "cache", Optional.empty());
      assertEquals(6, r.selected());
      assertEquals(2, r.doneBefore(), r.toString());
      assertEquals(1, r.found(), "put but not journalled: found by its key and size");
      assertEquals(3, r.uploaded(), r.toString());
      assertEquals(3, rerun.puts.size());
      for (String key : rerun.puts) {
        assertFalse(before.contains(key), key + " uploaded twice");
      }
      for (int i = 0; i < 6; i++) {
        assertArrayEquals(d.original().get(d.narKey(i)), DrainTest.read(cluster, d.narKey(i)), "path " + i);
      }
    }
  }

  /** What a process's death looks like from inside: nothing catches it. */
  private static final class Killed extends Error {}

  @Test
  void lyingHolders_putNothingCorrupt_theRunGoesOn_andARerunRetriesOnlyWhatFailed() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      // One holder lying: its blocks fail their manifest hashes and are read around.
      cluster.stores.get(0).mode = FaultyStore.Mode.LYING;
      Path one = Files.writeString(dir.resolve("one.txt"), d.hash(5) + "\n");
      Restoration.Result r = restore(cluster, cluster.objects, "cache", Optional.of(one));
      assertEquals(1, r.uploaded(), r.toString());
      assertArrayEquals(d.original().get(d.narKey(5)), DrainTest.read(cluster, d.narKey(5)));

      // Every holder lying: no verified block anywhere (a NAR inside honest data fragments would be
      // read from them alone: the code is systematic). Nothing is put, each is named, the run goes on.
      for (FaultyStore s : cluster.stores) {
        s.mode = FaultyStore.Mode.LYING;
      }
      ByteArrayOutputStream named = new ByteArrayOutputStream();
      Restoration.Result failing = new Restoration(new Restoration.Config(Optional.empty(), "cache", Optional.empty(),
          dir.resolve("work")), cluster.catalog, archive(cluster), cluster.objects,
          new PrintStream(named, true, StandardCharsets.UTF_8), quiet(), Clock.systemUTC()).run();
      assertEquals(new Restoration.Result(6, 0, 0, 0, 1, 5, failing.failures()), failing);
      assertEquals(5, failing.failures().size());
      for (int i = 0; i < 5; i++) {
        assertFalse(DrainTest.exists(cluster, d.narKey(i)), "path " + i + ": nothing put");
        assertTrue(named.toString(StandardCharsets.UTF_8).contains(d.narKey(i)), named.toString());
        assertEquals(Optional.of(Journal.State.DRAINED), cluster.catalog.journal().state(d.hash(i)));
      }

      for (FaultyStore s : cluster.stores) {
        s.mode = FaultyStore.Mode.HONEST;
      }
      RecordingObjects rerun = new RecordingObjects(cluster.objects);
      Restoration.Result fixed = restore(cluster, rerun, "cache", Optional.empty());
      assertEquals(new Restoration.Result(6, 5, sum(d) - d.original().get(d.narKey(5)).length, 0, 1, 0, List.of()),
          fixed);
      for (int i = 0; i < 6; i++) {
        assertArrayEquals(d.original().get(d.narKey(i)), DrainTest.read(cluster, d.narKey(i)), "path " + i);
      }
    }
  }

  @Test
  void aNarinfoTheBytesDoNotMatch_putsNothing_andAForeignObjectUnderTheKeyIsNotOverwritten() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      // The catalog's narinfo of path 0 claims path 1's FileHash: the blocks verify, the object does not.
      try (Connection c = DriverManager.getConnection(cluster.catalogUrl);
          PreparedStatement ps = c.prepareStatement("UPDATE nars SET narinfo = ? WHERE store_hash = ?")) {
        String info = cluster.catalog.narByStoreHash(d.hash(0)).orElseThrow().narInfo();
        ps.setString(1, info.replace(d.paths().get(0).fileHash().toNixString(),
            d.paths().get(1).fileHash().toNixString()));
        ps.setString(2, d.hash(0));
        assertEquals(1, ps.executeUpdate());
      }
      // Someone else's object, of another size, under path 2's key.
      byte[] foreign = "not this NAR".getBytes(StandardCharsets.UTF_8);
      cluster.objects.put(d.narKey(2), foreign, "application/octet-stream");

      Restoration.Result r = restore(cluster, cluster.objects, "cache", Optional.empty());
      assertEquals(2, r.failed(), r.toString());
      assertEquals(4, r.uploaded(), r.toString());
      assertTrue(r.failures().get(0).contains("FileHash") || r.failures().get(1).contains("FileHash"),
          r.failures().toString());
      assertFalse(DrainTest.exists(cluster, d.narKey(0)), "an object that does not match its narinfo is not put");
      assertArrayEquals(foreign, DrainTest.read(cluster, d.narKey(2)), "not overwritten");
      assertEquals(Optional.of(Journal.State.DRAINED), cluster.catalog.journal().state(d.hash(0)));
      assertEquals(Optional.of(Journal.State.DRAINED), cluster.catalog.journal().state(d.hash(2)));
    }
  }

  @Test
  void intoTheOriginalBucket_objectsStillThere_areCheckedNotUploaded_andADrainThenLeavesThem() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(30_000, 60_000, 90_000), 62, 2);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(key.publicKey(), 4, 2, 0, 100_000);
      RecordingObjects objects = new RecordingObjects(cluster.objects);
      Restoration.Result r = restore(cluster, objects, "cache", Optional.empty());
      assertEquals(new Restoration.Result(3, 0, 0, 3, 0, 0, List.of()), r);
      assertEquals(List.of(), objects.puts, "HEAD and size only");
      assertEquals(3, objects.stats.get());
      MigrationSummary s = cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL,
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      assertEquals(0, s.drain().objects(), "restored: a drain leaves them in S3");
      for (CacheGenerator.GeneratedPath p : paths) {
        assertArrayEquals(original.get(p.narKey()), DrainTest.read(cluster, p.narKey()));
      }
    }
  }

  @Test
  void progress_goesToItsStreamWithCountsBytesAndRate() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      drained(cluster);
      ByteArrayOutputStream progress = new ByteArrayOutputStream();
      // Each look at the clock is 6 s later: every NAR is worth a progress line.
      AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
      InstantSource ticking = () -> now.updateAndGet(t -> t.plusSeconds(6));
      new Restoration(new Restoration.Config(Optional.empty(), "cache", Optional.empty(), dir.resolve("work")),
          cluster.catalog, archive(cluster), cluster.objects, quiet(),
          new PrintStream(progress, true, StandardCharsets.UTF_8), ticking).run();
      List<String> lines = progress.toString(StandardCharsets.UTF_8).lines().toList();
      assertEquals(6, lines.size(), lines.toString());
      assertTrue(lines.getLast().matches("restore: 6 of 6 NARs, 6 put back \\(0\\.[0-9] MiB at 0\\.0 MiB/s\\), "
          + "0 found, 0 restored before, 0 failed, [0-9]+ s"), lines.getLast());
    }
  }

  @Test
  void cli_unknownPathInTheList_isAClearError_andNothingIsRestored() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      String unknown = "0".repeat(31) + "1";
      Path list = Files.writeString(dir.resolve("paths.txt"), d.paths().get(0).storePath() + "\n/nix/store/" + unknown
          + "-hello-2.12\n");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      picocli.CommandLine cli = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8));
      cli.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
      int status = cli.execute("restore", "--catalog", cluster.catalogUrl, "--to-bucket", "cache", "--s3-endpoint",
          cluster.s3.endpoint().toString(), "--paths", list.toString(), "--work-dir", dir.resolve("w").toString());
      String message = err.toString(StandardCharsets.UTF_8);
      assertEquals(2, status, message + out);
      assertTrue(message.contains("1 of its 2 store paths is not in the archive"), message);
      assertTrue(message.contains(unknown), message);
      assertTrue(message.contains("nothing was restored"), message);
      assertFalse(DrainTest.exists(cluster, d.narKey(0)));

      int neither = cli.execute("restore", "--catalog", cluster.catalogUrl, "--to-bucket", "cache");
      assertEquals(2, neither, "--paths or --all is required");
    }
  }

  @Test
  void cli_inItsOwnProcess_restoresAList_summarises_andExits3NamingWhatFailed() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      Drained d = drained(cluster);
      Path list = Files.writeString(dir.resolve("paths.txt"), d.hash(0) + "\n" + d.hash(3) + "\n");
      Process ok = start(cluster, list, "ok");
      assertTrue(ok.waitFor(2, TimeUnit.MINUTES));
      String printed = Files.readString(dir.resolve("ok.out"));
      assertEquals(0, ok.exitValue(), printed + Files.readString(dir.resolve("ok.err")));
      assertTrue(printed.contains("2 NARs: 2 put back"), printed);
      assertArrayEquals(d.original().get(d.narKey(0)), DrainTest.read(cluster, d.narKey(0)));
      assertArrayEquals(d.original().get(d.narKey(3)), DrainTest.read(cluster, d.narKey(3)));

      for (int i = 0; i < cluster.holders.size(); i++) {
        cluster.stopHolder(i);
      }
      Path more = Files.writeString(dir.resolve("more.txt"), d.hash(0) + "\n" + d.hash(2) + "\n");
      Process failing = start(cluster, more, "failing");
      assertTrue(failing.waitFor(2, TimeUnit.MINUTES));
      String failed = Files.readString(dir.resolve("failing.out"));
      assertEquals(3, failing.exitValue(), failed + Files.readString(dir.resolve("failing.err")));
      assertTrue(failed.contains("1 restored before, 1 failed"), failed);
      assertTrue(failed.contains("not restored:\n  " + d.narKey(2)), failed);
      assertFalse(DrainTest.exists(cluster, d.narKey(2)));
    }
  }

  private Process start(Cluster cluster, Path list, String name) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
        Narvault.class.getName(), "restore", "--catalog", cluster.catalogUrl, "--to-bucket", "cache", "--s3-endpoint",
        cluster.s3.endpoint().toString(), "--paths", list.toString(), "--archive-public-key",
        cluster.archiveKey.publicKey().toString(), "--holder-timeout", "5s", "--work-dir",
        dir.resolve("work-" + name).toString()));
    ProcessBuilder b = new ProcessBuilder(command).redirectOutput(dir.resolve(name + ".out").toFile())
        .redirectError(dir.resolve(name + ".err").toFile());
    b.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3.ACCESS_KEY);
    b.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3.SECRET_KEY);
    return b.start();
  }
}
