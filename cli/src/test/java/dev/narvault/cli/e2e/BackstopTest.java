package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.backstop.BackstopObject;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.S3Config;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backstops against S3Proxy with real holders on loopback: {@code migrate --backstop-bucket}
 * writes one object per pack before draining it; the gateway serves from it, verified, when fewer
 * than k holders answer, and refuses a corrupted one.
 */
class BackstopTest {
  private static final String BUCKET = "backstop";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  /** The backstop bucket of {@code cluster}'s S3 store; created when {@code create}. */
  static S3ObjectSource backstopBucket(Cluster cluster, boolean create) throws IOException {
    S3ObjectSource bucket = new S3ObjectSource(new S3Config(Optional.of(cluster.s3.endpoint()), BUCKET, "us-east-1",
        Optional.of("narvault"), Optional.of("narvault-secret")));
    if (create) {
      bucket.createBucket();
    }
    return bucket;
  }

  /** Small packs (several per run) with 4 KiB blocks, so that reads cross blocks and fragments; drained. */
  static MigrateConfig config(Cluster cluster, NixSecretKey cacheKey) {
    return new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), 4, 2, 20_000, 4096, Codecs.defaultKind(),
        cluster.dir.resolve("work"), 0).with(ColdSelection.ALL, DrainConfig.delete(cluster.trustedArchiveKeys()))
        .withBackstop(new MigrateConfig.Backstop(BUCKET, Optional.empty()));
  }

  static List<CacheGenerator.GeneratedPath> generate(Cluster cluster, NixSecretKey cacheKey) throws Exception {
    return new CacheGenerator(cacheKey, cluster.objects)
        .generate(List.of(20_000, 45_000, 70_000, 90_000, 130_000, 33_333), 77, 2);
  }

  @Test
  void migrate_writesOneCheckedObjectPerPack_beforeDraining_andTheGatewayServesFromItWhenFewerThanKHoldersAnswer()
      throws Exception {
    try (Cluster cluster = new Cluster(dir, 6); S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      MigrationSummary summary = cluster.migrate(config(cluster, cacheKey));
      assertEquals(paths.size(), summary.drain().objects(), summary.toString());
      assertTrue(summary.packs() >= 3, "several packs: " + summary);

      Set<PackId> packs = packsOf(cluster, paths);
      assertEquals(summary.packs(), packs.size());
      List<String> keys = new ArrayList<>();
      // (S3Proxy's filesystem backend also lists the folder, packs/.)
      backstops.list("", o -> {
        if (!o.key().endsWith("/")) {
          keys.add(o.key());
        }
      });
      assertEquals(packs.stream().map(BackstopObject::key).sorted().toList(), keys.stream().sorted().toList(),
          "one object per pack, nothing else");
      assertEquals(packs.size(), cluster.catalog.backstops().count());
      for (PackId packId : packs) {
        assertObjectIsThePack(cluster, backstops, packId);
      }

      // Three of six holders stop: every pack has 3 fragments, k = 4.
      URI gateway = cluster.startGateway();
      for (int i = 0; i < 3; i++) {
        cluster.stopHolder(i);
      }
      for (CacheGenerator.GeneratedPath p : paths) {
        assertFalse(DrainTest.exists(cluster, p.narKey()), "drained: only the archive has it");
        HttpResponse<byte[]> r = get(gateway, "/" + p.narKey());
        assertEquals(200, r.statusCode(), p.narKey());
        assertArrayEquals(original.get(p.narKey()), r.body(), p.narKey() + " served from the backstop byte for byte");
      }
      // A range in the middle of a NAR, across blocks.
      CacheGenerator.GeneratedPath big = paths.get(4);
      int last = original.get(big.narKey()).length - 1000;
      HttpResponse<byte[]> ranged = get(gateway, "/" + big.narKey(), "Range", "bytes=5000-" + last);
      assertEquals(206, ranged.statusCode());
      assertArrayEquals(Arrays.copyOfRange(original.get(big.narKey()), 5000, last + 1), ranged.body());
    }
  }

  @Test
  void aCorruptedBackstop_isRefused_andNoUnverifiedByteIsServed() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6); S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(config(cluster, cacheKey));
      CacheGenerator.GeneratedPath victim = paths.get(4);
      ArchivedNar nar = cluster.catalog.narByStoreHash(victim.storePath().hashPart()).orElseThrow();
      Backstops.Backstop backstop = cluster.catalog.backstops().of(nar.packId()).orElseThrow();
      // One byte flipped in the middle of the NAR's bytes, as rot or a hostile bucket would.
      byte[] object;
      try (InputStream in = backstops.open(backstop.key())) {
        object = in.readAllBytes();
      }
      long flipAt = nar.packOffset() + nar.length() / 2;
      object[(int) flipAt] ^= 0x40;
      backstops.put(backstop.key(), object, "application/octet-stream");
      try (InputStream in = backstops.open(backstop.key())) {
        assertArrayEquals(object, in.readAllBytes(), "the bucket holds the corrupted object");
      }
      // Every holder down: the backstop is the only source, so the flipped block cannot be read
      // around (with some holders up, the block may come from its fragment's holder or be decoded).
      for (int i = 0; i < 6; i++) {
        cluster.stopHolder(i);
      }

      Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          Optional.of(cluster.trustedArchiveKeys()), cluster.objects);
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      IOException refused = assertThrows(IOException.class, () -> archive.read(nar, 0, nar.length(), got));
      assertTrue(refused.getMessage().contains("does not match the pack's signed manifest"), refused.getMessage());
      assertTrue(refused.getMessage().contains(backstop.location()), refused.getMessage());
      byte[] written = got.toByteArray();
      assertTrue(written.length < nar.length() / 2 + 1, "stops before the flipped byte: " + written.length);
      assertArrayEquals(Arrays.copyOf(original.get(victim.narKey()), written.length), written,
          "what was written before the refusal is verified, exact");

      URI gateway = cluster.startGateway();
      Seen seen = fetch(gateway, "/" + victim.narKey());
      assertTrue(seen.status() != 200 || seen.cut(), "not served whole: " + seen.status());
      if (seen.status() == 200) {
        assertArrayEquals(Arrays.copyOf(original.get(victim.narKey()), seen.body().length), seen.body(),
            "no bad byte");
      }
      // The other NARs of the pack, away from the flipped block, are still served.
      for (CacheGenerator.GeneratedPath p : paths) {
        ArchivedNar other = cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow();
        if (!other.packId().equals(nar.packId())) {
          assertArrayEquals(original.get(p.narKey()), get(gateway, "/" + p.narKey()).body(), p.narKey());
        }
      }
    }
  }

  @Test
  void aBackstopNotPlaced_holdsTheDrainBack_andTheNextRunPlacesItFromTheHolders_thenDrains() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      // The bucket does not exist yet: every upload fails, as if each run died before its backstop.
      MigrationSummary first = cluster.migrate(config(cluster, cacheKey));
      assertEquals(paths.size(), first.narsArchived(), first.toString());
      assertEquals(0, first.drain().objects(), "nothing drained without a backstop: " + first);
      assertEquals(paths.size(), first.drain().pendingObjects());
      assertEquals(0, cluster.catalog.backstops().count());
      for (CacheGenerator.GeneratedPath p : paths) {
        assertArrayEquals(original.get(p.narKey()), DrainTest.read(cluster, p.narKey()), "still in S3");
      }

      try (S3ObjectSource backstops = backstopBucket(cluster, true)) {
        MigrationSummary next = cluster.migrate(config(cluster, cacheKey));
        assertEquals(0, next.narsArchived());
        assertEquals(paths.size(), next.drain().objects(), next.toString());
        Set<PackId> packs = packsOf(cluster, paths);
        assertEquals(packs.size(), cluster.catalog.backstops().count());
        for (PackId packId : packs) {
          assertObjectIsThePack(cluster, backstops, packId);
        }
        for (int i = 0; i < 3; i++) {
          cluster.stopHolder(i);
        }
        URI gateway = cluster.startGateway();
        for (CacheGenerator.GeneratedPath p : paths) {
          assertArrayEquals(original.get(p.narKey()), get(gateway, "/" + p.narKey()).body(), p.narKey());
        }
      }
    }
  }

  @Test
  void repair_rebuildsAPackThatLostMoreThanMFragments_fromItsBackstop() throws Exception {
    try (Cluster cluster = new Cluster(dir, 9, Duration.ofMillis(1200));
        S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(config(cluster, cacheKey));
      PackId lost = cluster.catalog.narByStoreHash(paths.get(4).storePath().hashPart()).orElseThrow().packId();
      // Three of its six fragments go (m = 2): no k of them are left anywhere.
      List<Integer> stopped = List.of(cluster.holderOf(lost, 0), cluster.holderOf(lost, 2), cluster.holderOf(lost, 5));
      stopped.forEach(cluster::stopHolder);
      Thread.sleep(1600);
      Archive holdersOnly = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          Optional.of(cluster.trustedArchiveKeys()));
      ArchivedNar nar = cluster.catalog.narByStoreHash(paths.get(4).storePath().hashPart()).orElseThrow();
      assertThrows(IOException.class, () -> holdersOnly.read(nar, 0, nar.length(), new ByteArrayOutputStream()),
          "the holders alone cannot serve it now");

      var round = cluster.coordinator.repairer().repairOnce();
      assertEquals(0, round.failed(), round.toString());
      Set<String> storedOn = new HashSet<>();
      for (var p : cluster.catalog.placements(lost)) {
        if (p.stored()) {
          assertTrue(storedOn.add(p.holderId().value()), "one fragment per holder");
        }
      }
      assertEquals(6, storedOn.size(), "all six fragments stored again");
      for (int i : stopped) {
        assertFalse(storedOn.contains(cluster.holders.get(i).holderId()), "not on a stopped holder");
      }
      // Served by the holders alone again, every NAR of every pack, byte for byte.
      for (CacheGenerator.GeneratedPath p : paths) {
        ArchivedNar n = cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        holdersOnly.read(n, 0, n.length(), got);
        assertArrayEquals(original.get(p.narKey()), got.toByteArray(), p.narKey());
      }
    }
  }

  @Test
  void repair_readsAroundARottenBlockOfTheBackstop_andStillRebuildsThePack() throws Exception {
    try (Cluster cluster = new Cluster(dir, 9, Duration.ofMillis(1200));
        S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(config(cluster, cacheKey));
      PackId lost = cluster.catalog.narByStoreHash(paths.get(4).storePath().hashPart()).orElseThrow().packId();
      // A block of data fragment 0 rots in the backstop: fragment 0 has no holder copy left, so
      // the backstop is its only source, and the rebuild must read around that block (parity 4).
      flipInBackstop(cluster, backstops, lost, 0);
      List<Integer> stopped = List.of(cluster.holderOf(lost, 0), cluster.holderOf(lost, 2), cluster.holderOf(lost, 5));
      stopped.forEach(cluster::stopHolder);
      Thread.sleep(1600);

      var round = cluster.coordinator.repairer().repairOnce();
      assertEquals(0, round.failed(), "a backstop block that failed is read around, not a failed round: " + round);
      assertRebuiltOnHolders(cluster, lost, stopped, paths, original);
    }
  }

  @Test
  void repair_usesTheBackstop_whenACorruptCopyCountedTowardsKWasQuarantinedByItsHolder() throws Exception {
    try (Cluster cluster = new Cluster(dir, 9, Duration.ofMillis(1200));
        S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(config(cluster, cacheKey));
      PackId lost = cluster.catalog.narByStoreHash(paths.get(4).storePath().hashPart()).orElseThrow().packId();
      // Fragment 2 rots on its holder, whose scrubber quarantines it and reports it: the catalog
      // has a corrupt copy on a live holder, which now answers 404 for it.
      int rotten = cluster.holderOf(lost, 2);
      var copy = cluster.catalog.placements(lost).stream().filter(p -> p.fragmentIndex() == 2).findFirst().orElseThrow();
      cluster.rot(rotten, copy.fragmentId());
      assertEquals(1, cluster.holders.get(rotten).scrubOnce());
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (cluster.catalog.placements(lost).stream().noneMatch(
          p -> p.fragmentIndex() == 2 && p.state() == dev.narvault.core.catalog.FragmentState.CORRUPT)) {
        assertTrue(System.nanoTime() < deadline, "the scrub report reaches the catalog");
        Thread.sleep(20);
      }
      // Fragments 0 and 5 go too: 3 good copies, and the corrupt one would make k = 4.
      List<Integer> stopped = List.of(cluster.holderOf(lost, 0), cluster.holderOf(lost, 5));
      stopped.forEach(cluster::stopHolder);
      Thread.sleep(1600);

      var round = cluster.coordinator.repairer().repairOnce();
      assertEquals(0, round.failed(), round.toString());
      List<Integer> away = new ArrayList<>(stopped);
      away.add(rotten);
      assertRebuiltOnHolders(cluster, lost, away, paths, original);
    }
  }

  @Test
  void aBackstopRemovedAfterItWasPlaced_isPlacedAgain_andHoldsBackTheDelete() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6); S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      // Archived with backstops, nothing drained yet.
      MigrationSummary archived = cluster.migrate(config(cluster, cacheKey).with(ColdSelection.ALL,
          dev.narvault.encoder.DrainConfig.DRY_RUN));
      assertEquals(paths.size(), archived.narsArchived());
      Set<PackId> packs = packsOf(cluster, paths);
      assertEquals(packs.size(), cluster.catalog.backstops().count());
      // A lifecycle rule (or a hand) removes one pack's backstop; the catalog still records it.
      PackId removed = cluster.catalog.narByStoreHash(paths.get(4).storePath().hashPart()).orElseThrow().packId();
      backstops.delete(BackstopObject.key(removed));

      // The first delete of that pack finds it gone: it is placed again from the holders and that
      // object is held back (retried by the run's closing pass, once the new backstop is checked).
      MigrationSummary drained = cluster.migrate(config(cluster, cacheKey));
      assertEquals(1, drained.drain().failed(), "one delete held back: " + drained);
      assertObjectIsThePack(cluster, backstops, removed);
      assertEquals(paths.size(), drained.drain().objects(), drained.toString());
      for (int i = 0; i < 3; i++) {
        cluster.stopHolder(i);
      }
      URI gateway = cluster.startGateway();
      for (CacheGenerator.GeneratedPath p : paths) {
        assertFalse(DrainTest.exists(cluster, p.narKey()));
        assertArrayEquals(original.get(p.narKey()), get(gateway, "/" + p.narKey()).body(), p.narKey());
      }
    }
  }

  /** Flips a byte in the middle of data fragment {@code index} inside {@code packId}'s backstop object. */
  static void flipInBackstop(Cluster cluster, S3ObjectSource backstops, PackId packId, int index) throws Exception {
    Backstops.Backstop backstop = cluster.catalog.backstops().of(packId).orElseThrow();
    var shape = cluster.catalog.custody().shape(packId).orElseThrow();
    long fragmentSize = dev.narvault.core.pack.PackLayout.of(shape.dataFragmentCount(), shape.parityFragmentCount(),
        shape.packLength(), 4096).fragmentSize();
    byte[] object;
    try (InputStream in = backstops.open(backstop.key())) {
      object = in.readAllBytes();
    }
    int at = Math.toIntExact(index * fragmentSize + fragmentSize / 2);
    assertTrue(at < shape.packLength(), "inside the pack's bytes");
    object[at] ^= 0x40;
    backstops.put(backstop.key(), object, "application/octet-stream");
  }

  /** All six fragments of {@code packId} stored again, one per holder, none on {@code away}; every NAR reads back. */
  static void assertRebuiltOnHolders(Cluster cluster, PackId packId, List<Integer> away,
      List<CacheGenerator.GeneratedPath> paths, Map<String, byte[]> original) throws Exception {
    Set<String> storedOn = new HashSet<>();
    for (var p : cluster.catalog.placements(packId)) {
      if (p.stored()) {
        assertTrue(storedOn.add(p.holderId().value()), "one fragment per holder");
      }
    }
    assertEquals(6, storedOn.size(), "all six fragments stored again");
    for (int i : away) {
      assertFalse(storedOn.contains(cluster.holders.get(i).holderId()), "not on holder " + i);
    }
    Archive holdersOnly = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
        Optional.of(cluster.trustedArchiveKeys()));
    for (CacheGenerator.GeneratedPath p : paths) {
      ArchivedNar n = cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      holdersOnly.read(n, 0, n.length(), got);
      assertArrayEquals(original.get(p.narKey()), got.toByteArray(), p.narKey());
    }
  }

  @Test
  void aLostCatalog_rebuiltFromTheHolders_findsTheBackstopsByListingTheBucket() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6); S3ObjectSource backstops = backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, cacheKey);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      cluster.migrate(config(cluster, cacheKey));
      int packs = packsOf(cluster, paths).size();
      // A stray object and one cut short: neither is taken for a backstop.
      backstops.put("packs/" + "0".repeat(64), new byte[10], "application/octet-stream");
      PackId cut = packsOf(cluster, paths).iterator().next();
      byte[] whole;
      try (InputStream in = backstops.open(BackstopObject.key(cut))) {
        whole = in.readAllBytes();
      }
      backstops.put(BackstopObject.key(cut), Arrays.copyOf(whole, whole.length - 1), "application/octet-stream");

      cluster.loseCatalog();
      cluster.awaitRegistered();
      int exit = dev.narvault.cli.Narvault.commandLine(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()))
          .execute("catalog-rebuild", "--coordinator", cluster.coordinator.endpoint().toString(),
              "--archive-public-key", cluster.archiveKey.publicKey().toString(), "--catalog", cluster.catalogUrl,
              "--work-dir", dir.resolve("rebuild").toString());
      assertEquals(0, exit);
      assertEquals(0, cluster.catalog.backstops().count(), "the holders do not know about backstops");
      var found = dev.narvault.repair.rebuild.BackstopsFound.record(cluster.catalog, backstops, BUCKET, 1);
      assertEquals(packs - 1, found.recorded(), found.toString());
      assertEquals(1, found.wrongLength(), found.toString());
      assertTrue(found.unknown() >= 1, found.toString());
      assertEquals(packs - 1, cluster.catalog.backstops().count());
      assertEquals(Optional.empty(), cluster.catalog.backstops().of(cut));

      for (int i = 0; i < 3; i++) {
        cluster.stopHolder(i);
      }
      URI gateway = cluster.startGateway();
      for (CacheGenerator.GeneratedPath p : paths) {
        if (!cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow().packId().equals(cut)) {
          assertArrayEquals(original.get(p.narKey()), get(gateway, "/" + p.narKey()).body(), p.narKey());
        }
      }
    }
  }

  static Set<PackId> packsOf(Cluster cluster, List<CacheGenerator.GeneratedPath> paths) throws Exception {
    Set<PackId> packs = new HashSet<>();
    for (CacheGenerator.GeneratedPath p : paths) {
      packs.add(cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow().packId());
    }
    return packs;
  }

  /** The object is the pack's bytes (as holders serve them), its signed manifest, then the trailer. */
  static void assertObjectIsThePack(Cluster cluster, S3ObjectSource backstops, PackId packId) throws Exception {
    byte[] object;
    try (InputStream in = backstops.open(BackstopObject.key(packId))) {
      object = in.readAllBytes();
    }
    Backstops.Backstop recorded = cluster.catalog.backstops().of(packId).orElseThrow();
    assertEquals(recorded.length(), object.length);
    if (recorded.sha256().isPresent()) {
      assertEquals(recorded.sha256().get(), java.util.HexFormat.of().formatHex(
          java.security.MessageDigest.getInstance("SHA-256").digest(object)));
    }
    byte[] manifest = cluster.catalog.signedManifest(packId).orElseThrow().getBytes(StandardCharsets.UTF_8);
    long packLength = cluster.catalog.custody().shape(packId).orElseThrow().packLength();
    assertEquals(BackstopObject.length(packLength, manifest.length), object.length);
    long manifestLength = BackstopObject.manifestLength(Arrays.copyOfRange(object, object.length - 16, object.length));
    assertEquals(manifest.length, manifestLength);
    assertArrayEquals(manifest, Arrays.copyOfRange(object, (int) packLength, (int) packLength + manifest.length));
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), Optional.of(cluster.trustedArchiveKeys()))
        .readPack(packId, 0, packLength, pack);
    assertArrayEquals(pack.toByteArray(), Arrays.copyOf(object, (int) packLength), "the pack's bytes");
  }

  static HttpResponse<byte[]> get(URI gateway, String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.resolve(path));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A response as a client saw it, even one cut mid-way. */
  record Seen(int status, byte[] body, boolean cut) {}

  static Seen fetch(URI gateway, String path) throws Exception {
    HttpResponse<InputStream> r = HTTP.send(HttpRequest.newBuilder(gateway.resolve(path)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try (InputStream in = r.body()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        body.write(buffer, 0, n);
      }
    } catch (IOException cut) {
      return new Seen(r.statusCode(), body.toByteArray(), true);
    }
    return new Seen(r.statusCode(), body.toByteArray(), false);
  }
}
