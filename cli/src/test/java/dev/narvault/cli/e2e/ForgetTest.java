package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.S3Config;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.core.catalog.Forgotten;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.Promotion;
import dev.narvault.encoder.Restoration;
import dev.narvault.encoder.Takedown;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
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
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code narvault forget} on a whole narvault over loopback: the gateway answers 404 for a
 * forgotten path's narinfo, NAR and listing without asking S3 (even with the objects back in the
 * bucket), its S3 objects are deleted, forgetting again does nothing, an unknown path is refused
 * with nothing done, a lost catalog rebuilt from the holders keeps it forgotten, and a run stopped
 * before the S3 deletions is finished by the next.
 */
class ForgetTest {
  @TempDir
  Path dir;

  /** What a {@code narvault} command line printed (stdout and stderr) and its exit status. */
  record Run(int exit, String printed) {}

  @BeforeAll
  static void credentials() {
    // The command reads the bucket with the AWS SDK's default chain, as in production; every
    // embedded S3 has these.
    System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);
  }

  /** Runs a {@code narvault} command line in this JVM. */
  static Run narvault(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8)).execute(args);
      return new Run(exit, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(saved);
    }
  }

  private List<String> forgetArgs(Cluster cluster, String... paths) throws IOException {
    return forgetArgs(dir, cluster, paths);
  }

  /** {@code narvault forget} against {@code cluster}, its keys written into {@code dir}, then {@code more}. */
  static List<String> forgetArgs(Path dir, Cluster cluster, String... more) throws IOException {
    Path workerKey = dir.resolve("worker.key");
    Path archiveKey = dir.resolve("archive.key");
    Files.writeString(workerKey, cluster.workerKey.toFileContents() + "\n");
    Files.writeString(archiveKey, cluster.archiveKey.toFileContents() + "\n");
    List<String> args = new ArrayList<>(List.of("forget", "--catalog", cluster.catalogUrl, "--coordinator",
        cluster.coordinator.endpoint().toString(), "--worker-key", workerKey.toString(), "--archive-key",
        archiveKey.toString(), "--archive-public-key", cluster.archiveKey.publicKey().toString(), "--s3-endpoint", cluster.s3.endpoint().toString(), "--bucket", "cache", "--work-dir", dir.resolve("forget-work").toString()));
    args.addAll(List.of(more));
    return args;
  }

  private static HttpResponse<byte[]> get(URI gateway, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gateway + "/" + path)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A 404 no cache in front keeps for long: no immutable, at most the negative TTL. */
  private static void assertShortNotFound(HttpResponse<byte[]> r, String what) {
    assertEquals(404, r.statusCode(), what);
    String caching = r.headers().firstValue("Cache-Control").orElse("");
    assertFalse(caching.contains("immutable"), what + ": " + caching);
    assertTrue(caching.equals("no-store") || Long.parseLong(caching.replaceAll(".*max-age=(\\d+).*", "$1")) <= 3600,
        what + ": " + caching);
  }

  private GatewayServer gateway(Cluster cluster, RecordingObjects objects) throws IOException {
    return GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50),
        new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
            Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey()))), objects);
  }

  private Takedown takedown(Cluster cluster, ObjectSource objects) {
    return new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), new PlacementClient(
        cluster.coordinator.endpoint(), cluster.workerKey, InstantSource.system()), cluster.archiveKey, objects,
        dir.resolve("w"), new PrintStream(OutputStream.nullOutputStream()), InstantSource.system());
  }

  /** A store path whose signed narinfo names the same NAR object as {@code narInfo}: an alias. */
  private static String twinNarInfo(NixSecretKey key, String narInfo, StorePath of, StorePath twin) {
    return key.sign(NarInfo.parse(narInfo.replaceAll("Sig: .*\n", "").replace(of.toString(), twin.toString())))
        .text();
  }

  @Test
  void forget_gateway404sWithoutAskingS3_objectsDeleted_idempotent_unknownRefused_andARebuildKeepsIt()
      throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(30_000, 60_000, 90_000), 71, 2);
      cluster.migrate(key.publicKey(), 4, 2);
      CacheGenerator.GeneratedPath gone = paths.get(0);
      CacheGenerator.GeneratedPath kept = paths.get(1);
      String hash = gone.storePath().hashPart();
      byte[] narInfo = DrainTest.read(cluster, hash + ".narinfo");
      byte[] nar = DrainTest.read(cluster, gone.narKey());
      RecordingObjects recording = new RecordingObjects(cluster.objects);
      try (GatewayServer server = gateway(cluster, recording)) {
        URI gw = server.endpoint();
        assertEquals(200, get(gw, hash + ".narinfo").statusCode());
        assertEquals(200, get(gw, gone.narKey()).statusCode());

        Run first = narvault(forgetArgs(cluster, gone.storePath().toString(), "--reason", "leaked secret, ticket 7")
            .toArray(String[]::new));
        assertEquals(0, first.exit(), first.printed());
        assertTrue(first.printed().contains("forgot 1 store paths"), first.printed());
        assertTrue(first.printed().matches("(?s).*" + gone.narKey() + "\\); \\d+% of pack .*"), first.printed());
        assertFalse(DrainTest.exists(cluster, hash + ".narinfo"), "the narinfo is gone from the bucket");
        assertFalse(DrainTest.exists(cluster, gone.narKey()), "the NAR is gone from the bucket");
        Forgotten.Entry entry = cluster.catalog.forgotten().entry(hash).orElseThrow();
        assertEquals("leaked secret, ticket 7", entry.tombstone().reason());
        assertEquals(gone.fileHash().toString(), entry.tombstone().fileHash());
        assertEquals(Forgotten.S3Objects.DELETED, entry.s3Objects());
        assertEquals(3, cluster.catalog.documents().document(entry.docId()).orElseThrow().holders().size(),
            "the tombstone is on three holders");

        // Even with the objects back in the bucket (a re-upload, a copy the CDN's origin still has):
        // the gateway answers 404 and does not ask S3.
        cluster.objects.put(hash + ".narinfo", narInfo, "text/x-nix-narinfo");
        cluster.objects.put(gone.narKey(), nar, "application/x-nix-nar");
        cluster.objects.put(hash + ".ls", "{}".getBytes(StandardCharsets.UTF_8), "application/json");
        recording.asked.clear();
        assertShortNotFound(get(gw, hash + ".narinfo"), "narinfo");
        assertShortNotFound(get(gw, gone.narKey()), "NAR");
        assertShortNotFound(get(gw, hash + ".ls"), "listing");
        assertEquals(List.of(), recording.asked, "S3 was not asked");
        assertEquals(200, get(gw, kept.storePath().hashPart() + ".narinfo").statusCode(), "the others are served");
        assertEquals(200, get(gw, kept.narKey()).statusCode());

        // Again: nothing new, but what is in the bucket again goes.
        Run again = narvault(forgetArgs(cluster, hash, "--reason", "again").toArray(String[]::new));
        assertEquals(0, again.exit(), again.printed());
        assertTrue(again.printed().contains("forgot 0 store paths (1 were forgotten already)"), again.printed());
        assertEquals(1, cluster.catalog.forgotten().count());
        assertEquals("leaked secret, ticket 7", cluster.catalog.forgotten().entry(hash).orElseThrow()
            .tombstone().reason(), "the first tombstone stands");

        // A path the archive does not know: refused, nothing done.
        String unknown = "0".repeat(32);
        Run refused = narvault(forgetArgs(cluster, kept.storePath().toString(), unknown, "--reason", "typo")
            .toArray(String[]::new));
        assertEquals(2, refused.exit(), refused.printed());
        assertTrue(refused.printed().contains("not in the archive's catalog") && refused.printed().contains(unknown),
            refused.printed());
        assertFalse(cluster.catalog.forgotten().isForgotten(kept.storePath().hashPart()), "nothing was done");
        List<String> otherKey = forgetArgs(cluster, kept.storePath().toString(), "--reason", "wrong key");
        otherKey.set(otherKey.indexOf("--archive-public-key") + 1,
            NixSecretKey.generate("test-archive-1", new SecureRandom()).publicKey().toString());
        Run untrusted = narvault(otherKey.toArray(String[]::new));
        assertEquals(2, untrusted.exit(), untrusted.printed());
        assertTrue(untrusted.printed().contains("do not include"), untrusted.printed());
        assertFalse(cluster.catalog.forgotten().isForgotten(kept.storePath().hashPart()), "nothing was done");
        Run noReason = narvault(forgetArgs(cluster, kept.storePath().toString()).toArray(String[]::new));
        assertEquals(2, noReason.exit(), noReason.printed());
        assertTrue(noReason.printed().contains("--reason is required"), noReason.printed());
      }

      // The catalog is lost: the rebuilt one keeps the path forgotten (the tombstone is on holders).
      cluster.objects.put(hash + ".narinfo", narInfo, "text/x-nix-narinfo");
      cluster.loseCatalog();
      cluster.awaitRegistered();
      Run rebuilt = narvault("catalog-rebuild", "--coordinator", cluster.coordinator.endpoint().toString(),
          "--archive-public-key", cluster.archiveKey.publicKey().toString(), "--catalog", cluster.catalogUrl);
      assertEquals(0, rebuilt.exit(), rebuilt.printed());
      assertTrue(rebuilt.printed().contains("1 forgotten"), rebuilt.printed());
      assertTrue(cluster.catalog.forgotten().isForgotten(hash));
      RecordingObjects afterRebuild = new RecordingObjects(cluster.objects);
      try (GatewayServer server = gateway(cluster, afterRebuild)) {
        assertShortNotFound(get(server.endpoint(), hash + ".narinfo"), "narinfo after the rebuild");
        assertShortNotFound(get(server.endpoint(), gone.narKey()), "NAR after the rebuild");
        assertEquals(List.of(), afterRebuild.asked);
        assertEquals(200, get(server.endpoint(), kept.narKey()).statusCode());
      }
      // The rebuilt catalog cannot know the bucket was cleaned: the next run (no paths) makes sure.
      Run finish = narvault(forgetArgs(cluster).toArray(String[]::new));
      assertEquals(0, finish.exit(), finish.printed());
      assertFalse(DrainTest.exists(cluster, hash + ".narinfo"));
    }
  }

  @Test
  void forget_s3FailingDeletions_recordsAllTheSame_reportsThemPending_andTheNextRunFinishes_andAnAliasGoesToo() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(40_000, 50_000), 72, 2);
      cluster.migrate(key.publicKey(), 4, 2);
      CacheGenerator.GeneratedPath gone = paths.get(0);
      String hash = gone.storePath().hashPart();
      // A later store path naming the same NAR object: an alias, taken down with it.
      String text = new String(DrainTest.read(cluster, hash + ".narinfo"), StandardCharsets.UTF_8);
      StorePath twin = StorePath.makeSourcePath("twin", NarInfo.parse(text).narHash(), List.of());
      cluster.objects.put(twin.hashPart() + ".narinfo", key.sign(NarInfo.parse(text.replaceAll("Sig: .*\n", "")
          .replace(gone.storePath().toString(), twin.toString()))).toBytes(), "text/plain");
      cluster.migrate(key.publicKey(), 4, 2);
      assertTrue(cluster.catalog.isArchived(twin.hashPart()));
      RecordingObjects failing = new RecordingObjects(cluster.objects).failDeleting(Optional.of(gone.narKey()));
      PlacementClient coordinator = new PlacementClient(cluster.coordinator.endpoint(), cluster.workerKey,
          InstantSource.system());
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      Takedown stopped = new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), coordinator,
          cluster.archiveKey, failing, dir.resolve("w"), quiet, InstantSource.system());
      assertEquals(new Takedown.Result(2, 0, 0, 2), stopped.run(List.of(hash), "court order"),
          "both recorded; both deletions fail (they share the NAR object) and stay pending, reported");
      assertTrue(cluster.catalog.forgotten().isForgotten(hash), "recorded before any deletion");
      assertEquals(Forgotten.S3Objects.PENDING, cluster.catalog.forgotten().entry(hash).orElseThrow().s3Objects());
      assertTrue(DrainTest.exists(cluster, gone.narKey()), "the deletion failed");

      // S3 still failing: a new path is recorded all the same (recording gives the 404), its own
      // objects deleted, and the earlier ones stay pending.
      CacheGenerator.GeneratedPath other = paths.get(1);
      assertEquals(new Takedown.Result(1, 0, 1, 2), stopped.run(List.of(other.storePath().hashPart()), "court order"));
      assertTrue(cluster.catalog.forgotten().isForgotten(other.storePath().hashPart()));
      assertFalse(DrainTest.exists(cluster, other.narKey()));

      failing.failDeleting(Optional.empty());
      Takedown.Result result = new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), coordinator,
          cluster.archiveKey, failing, dir.resolve("w"), quiet, InstantSource.system()).run(List.of(), null);
      assertEquals(new Takedown.Result(0, 0, 2, 0), result, "the path and its twin");
      assertFalse(DrainTest.exists(cluster, gone.narKey()));
      assertFalse(DrainTest.exists(cluster, hash + ".narinfo"));
      assertFalse(DrainTest.exists(cluster, twin.hashPart() + ".narinfo"));
      assertTrue(cluster.catalog.forgotten().isForgotten(twin.hashPart()));
      assertEquals(Forgotten.S3Objects.DELETED, cluster.catalog.forgotten().entry(hash).orElseThrow().s3Objects());
    }
  }

  @Test
  void forget_aDrainedNarServedOften_is404_andNeitherPromoteNorRestorePutsItBack() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(40_000, 50_000), 73, 2);
      cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL, DrainConfig.delete(cluster.trustedArchiveKeys()));
      URI gw = cluster.startGateway();
      for (CacheGenerator.GeneratedPath p : paths) {
        assertFalse(DrainTest.exists(cluster, p.narKey()), "drained");
        for (int i = 0; i < 12; i++) {
          assertEquals(200, get(gw, p.narKey()).statusCode());
        }
      }
      cluster.gatewayAccess.flush();
      CacheGenerator.GeneratedPath gone = paths.get(0);
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), new PlacementClient(
          cluster.coordinator.endpoint(), cluster.workerKey, InstantSource.system()), cluster.archiveKey,
          cluster.objects, dir.resolve("w"), quiet, InstantSource.system())
          .run(List.of(gone.storePath().hashPart()), "legal request");
      // Drained, its only copy is the archive's: the gateway no longer serves it.
      assertShortNotFound(get(gw, gone.narKey()), "drained NAR");
      assertShortNotFound(get(gw, gone.storePath().hashPart() + ".narinfo"), "drained NAR's narinfo");
      Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          Optional.of(cluster.trustedArchiveKeys()));
      Promotion.Result promoted = new Promotion(new Promotion.Config(Duration.ofDays(7), 10, false, 0,
          dir.resolve("promote")), cluster.catalog, archive, cluster.objects, "cache", quiet, Clock.systemUTC()).run();
      assertEquals(1, promoted.promoted(), promoted.toString());
      assertFalse(DrainTest.exists(cluster, gone.narKey()), "the forgotten NAR stays out of S3, however hot");
      assertTrue(DrainTest.exists(cluster, paths.get(1).narKey()), "the other one is promoted");
      Restoration.Result restored = new Restoration(new Restoration.Config(Optional.empty(), "cache", Optional.empty(),
          dir.resolve("restore")), cluster.catalog, archive, cluster.objects, quiet, quiet, Clock.systemUTC()).run();
      assertEquals(0, restored.failed(), restored.toString());
      assertEquals(1, restored.selected(), "restore --all passes the forgotten one over: " + restored);
      assertFalse(DrainTest.exists(cluster, gone.narKey()), "nor does restore put it back");
    }
  }

  /** One archived path forgotten with its objects deleted, and a narinfo naming its object put in the bucket since. */
  private record AfterTakedown(Cluster cluster, NixSecretKey key, List<CacheGenerator.GeneratedPath> paths,
      StorePath twin, String twinText) {
    CacheGenerator.GeneratedPath gone() {
      return paths.getFirst();
    }

    /**
     * The alias recorded all the same, as a catalog written by a narvault from before aliases of
     * forgotten objects were refused has it (the catalog refuses it now): written straight into
     * the catalog's database.
     */
    void recordAlias() throws Exception {
      ArchivedNar archived = cluster.catalog.narByStoreHash(gone().storePath().hashPart()).orElseThrow();
      assertThrows(dev.narvault.core.catalog.CatalogException.class, () -> cluster.catalog.addAlias(twin.hashPart(),
          archived, twinText, System.currentTimeMillis()), "refused now");
      try (java.sql.Connection db = java.sql.DriverManager.getConnection(cluster.catalogUrl);
          java.sql.PreparedStatement ps = db.prepareStatement("INSERT INTO nars (store_hash, file_key, file_hash, "
              + "pack_id, pack_offset, length, narinfo) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, twin.hashPart());
        ps.setString(2, archived.fileKey());
        ps.setString(3, archived.fileHash());
        ps.setString(4, archived.packId().hex());
        ps.setLong(5, archived.packOffset());
        ps.setLong(6, archived.length());
        ps.setString(7, twinText);
        assertEquals(1, ps.executeUpdate());
      }
    }
  }

  private AfterTakedown afterTakedown(Cluster cluster, long seed) throws Exception {
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
        .generate(List.of(40_000, 50_000), seed, 2);
    cluster.migrate(key.publicKey(), 4, 2);
    CacheGenerator.GeneratedPath gone = paths.getFirst();
    String hash = gone.storePath().hashPart();
    String text = new String(DrainTest.read(cluster, hash + ".narinfo"), StandardCharsets.UTF_8);
    assertEquals(new Takedown.Result(1, 0, 1, 0), takedown(cluster, cluster.objects).run(List.of(hash), "leak"));
    assertFalse(DrainTest.exists(cluster, gone.narKey()));
    StorePath twin = StorePath.makeSourcePath("twin", NarInfo.parse(text).narHash(), List.of());
    String twinText = twinNarInfo(key, text, gone.storePath(), twin);
    cluster.objects.put(twin.hashPart() + ".narinfo", twinText.getBytes(StandardCharsets.UTF_8), "text/plain");
    return new AfterTakedown(cluster, key, paths, twin, twinText);
  }

  @Test
  void migrate_aNarInfoNamingAForgottenObject_isRejectedNotAliased() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      AfterTakedown t = afterTakedown(cluster, 74);
      // The gateway would serve a narinfo whose NAR is 404, and Nix fails hard on that.
      MigrationSummary refused = cluster.migrate(t.key().publicKey(), 4, 2);
      assertEquals(1, refused.rejected(), refused.toString());
      assertTrue(refused.rejections().toString().contains("forgotten"), refused.rejections().toString());
      assertFalse(cluster.catalog.isArchived(t.twin().hashPart()), "not archived");
    }
  }

  @Test
  void gateway_anArchivedAliasOfAForgottenObject_is404WithoutAskingS3() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      AfterTakedown t = afterTakedown(cluster, 77);
      t.recordAlias();
      RecordingObjects recording = new RecordingObjects(cluster.objects);
      try (GatewayServer server = gateway(cluster, recording)) {
        assertShortNotFound(get(server.endpoint(), t.twin().hashPart() + ".narinfo"), "the alias's narinfo");
        assertShortNotFound(get(server.endpoint(), t.gone().narKey()), "the NAR");
        assertEquals(List.of(), recording.asked, "S3 was not asked");
        assertEquals(200, get(server.endpoint(), t.paths().get(1).storePath().hashPart() + ".narinfo").statusCode());
      }
    }
  }

  @Test
  void forget_again_looksTheAliasesUpAgain_andTakesDownOneItMissed() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      AfterTakedown t = afterTakedown(cluster, 78);
      t.recordAlias();
      String hash = t.gone().storePath().hashPart();
      assertEquals(new Takedown.Result(1, 1, 1, 0), takedown(cluster, cluster.objects).run(List.of(hash), "again"));
      assertTrue(cluster.catalog.forgotten().isForgotten(t.twin().hashPart()));
      assertFalse(DrainTest.exists(cluster, t.twin().hashPart() + ".narinfo"), "its narinfo is deleted");
      assertFalse(cluster.catalog.forgotten().isForgotten(t.paths().get(1).storePath().hashPart()));
    }
  }

  @Test
  void restore_aNarForgottenWhileItIsUploaded_isDeletedAgain() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(40_000, 50_000), 75, 2);
      cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL, DrainConfig.delete(cluster.trustedArchiveKeys()));
      CacheGenerator.GeneratedPath gone = paths.get(0);
      assertFalse(DrainTest.exists(cluster, gone.narKey()), "drained");
      // restore checked it is not forgotten and read it back; the takedown records it and deletes
      // its (absent) key before the upload lands.
      RecordingObjects racing = new RecordingObjects(cluster.objects);
      AtomicInteger takedowns = new AtomicInteger();
      racing.beforePut = k -> {
        if (k.equals(gone.narKey()) && takedowns.getAndIncrement() == 0) {
          try {
            takedown(cluster, cluster.objects).run(List.of(gone.storePath().hashPart()), "legal request");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          Optional.of(cluster.trustedArchiveKeys()));
      Restoration.Result restored = new Restoration(new Restoration.Config(Optional.empty(), "cache", Optional.empty(),
          dir.resolve("restore")), cluster.catalog, archive, racing, quiet, quiet, Clock.systemUTC()).run();
      assertEquals(1, takedowns.get(), "the takedown ran during the upload");
      assertEquals(Forgotten.S3Objects.DELETED, cluster.catalog.forgotten().entry(gone.storePath().hashPart())
          .orElseThrow().s3Objects(), "the takedown found nothing to delete");
      assertEquals(1, restored.uploaded(), restored.toString());
      assertEquals(1, restored.failed(), restored.toString());
      assertTrue(restored.failures().toString().contains("forgotten"), restored.toString());
      assertFalse(DrainTest.exists(cluster, gone.narKey()), "the upload is deleted again");
      assertTrue(DrainTest.exists(cluster, paths.get(1).narKey()), "the other one is restored");
    }
  }

  @Test
  void drainToBucket_aNarForgottenWhileItIsCopied_isDeletedFromTheOtherBucket() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8);
        S3ObjectSource cold = new S3ObjectSource(new S3Config(Optional.of(cluster.s3.endpoint()), "cold",
            "us-east-1", Optional.of(EmbeddedS3.ACCESS_KEY), Optional.of(EmbeddedS3.SECRET_KEY)))) {
      cold.createBucket();
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(40_000, 50_000), 76, 2);
      cluster.migrate(key.publicKey(), 4, 2);
      CacheGenerator.GeneratedPath gone = paths.get(0);
      // The drain checked it is not forgotten; the takedown records it before the copy, and its
      // deletion of the NAR object is still to come (S3 failing it for now).
      RecordingObjects racing = new RecordingObjects(cluster.objects);
      RecordingObjects failing = new RecordingObjects(cluster.objects).failDeleting(Optional.of(gone.narKey()));
      AtomicInteger takedowns = new AtomicInteger();
      racing.beforeCopy = k -> {
        if (k.equals(gone.narKey()) && takedowns.getAndIncrement() == 0) {
          try {
            takedown(cluster, failing).run(List.of(gone.storePath().hashPart()), "legal request");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };
      MigrationSummary moved = cluster.migrate(new MigrateConfig(TrustedKeys.of(key.publicKey()), 4, 2, 64L << 20,
          PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), 0).with(ColdSelection.ALL,
          new DrainConfig(DrainConfig.Mode.MOVE, Optional.of("cold"), Optional.empty(), -1,
              Optional.of(cluster.trustedArchiveKeys()))), cluster.catalog, racing);
      assertEquals(1, takedowns.get(), "the takedown ran during the copy");
      assertTrue(cluster.catalog.forgotten().isForgotten(gone.storePath().hashPart()));
      assertThrows(ObjectNotFoundException.class, () -> cold.stat(gone.narKey()), "the copy is deleted again");
      assertFalse(DrainTest.exists(cluster, gone.narKey()), "drained from the bucket all the same");
      assertEquals(paths.get(1).fileSize(), cold.stat(paths.get(1).narKey()).size(), "the other one is moved: "
          + moved);
    }
  }
}
