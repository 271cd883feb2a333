package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.InventoryFiles;
import dev.narvault.core.s3.StoredObject;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.input.Shard;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * At the cache's size a worker must not list the whole bucket, nor start over after a crash
 * (issue 22): it archives a bucket from an S3 Inventory or a key list without listing it, n
 * workers on shards 1/n … n/n archive it all exactly once, and a worker that stops part way
 * (an injected failure, or {@code kill -9}) is continued by the next run after the keys it had
 * fully handled, with nothing skipped.
 */
class MigrationAtScaleTest {
  @TempDir
  Path dir;

  private final NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());

  private MigrateConfig config(Path work, long packSize) {
    return new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), 4, 2, packSize, PackLayout.DEFAULT_BLOCK_SIZE,
        Codecs.defaultKind(), work, 0);
  }

  private List<CacheGenerator.GeneratedPath> generate(Cluster cluster, int count, long seed) throws IOException {
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      sizes.add(3_000 + 500 * i);
    }
    return new CacheGenerator(cacheKey, cluster.objects).generate(sizes, seed, 2);
  }

  private static List<StoredObject> everything(Cluster cluster) throws IOException {
    List<StoredObject> all = new ArrayList<>();
    cluster.objects.list("", all::add);
    return all;
  }

  private static void assertEachObjectInOnePack(Cluster cluster, int objects) throws IOException {
    Map<String, Integer> packsPerObject = cluster.packsPerObject();
    assertEquals(objects, packsPerObject.size(), "objects archived: " + packsPerObject.keySet());
    assertEquals(Set.of(1), Set.copyOf(packsPerObject.values()), "an object archived twice: " + packsPerObject);
  }

  @Test
  void inventory_archivesTheBucketWithoutListingIt_andItsAgesDecideOlderThan() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, 12, 1);
      // The inventory says the first 8 NARs are two years old; S3 (HEAD) says all are new. Only the
      // inventory's old ones may be archived with --older-than 90d.
      Set<String> old = new java.util.HashSet<>();
      for (int i = 0; i < 8; i++) {
        old.add(paths.get(i).narKey());
      }
      List<StoredObject> rows = everything(cluster).stream().map(o -> old.contains(o.key())
          ? new StoredObject(o.key(), o.size(), Instant.now().minus(Duration.ofDays(730))) : o).toList();
      Path manifest = InventoryFiles.write(dir.resolve("inventories"), "cache", rows, 3);
      // Published after the inventory was taken: not in it, so not archived.
      List<CacheGenerator.GeneratedPath> later = generate(cluster, 2, 2);
      for (CacheGenerator.GeneratedPath p : later) {
        DrainTest.age(cluster, p.narKey(), Duration.ofDays(730));
      }
      RecordingObjects bucket = new RecordingObjects(cluster.objects);
      MigrationSummary summary = cluster.migrate(config(dir.resolve("work"), 64L << 20)
          .with(new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.empty()),
              DrainConfig.DRY_RUN)
          .withKeysFrom(List.of(manifest)), cluster.catalog, bucket);
      assertEquals(8, summary.narsArchived(), summary.toString());
      assertEquals(4, summary.notSelected(), summary.toString());
      for (int i = 0; i < 12; i++) {
        assertEquals(i < 8, cluster.catalog.isArchived(paths.get(i).storePath().hashPart()), "path " + i);
      }
      for (CacheGenerator.GeneratedPath p : later) {
        assertFalse(cluster.catalog.isArchived(p.storePath().hashPart()), "not in the inventory, not archived");
      }
      assertEquals(List.of(), bucket.listedAfter, "the bucket is never listed");
      assertEquals(0, bucket.stats.get(), "no HEAD request: every NAR's age is in the inventory");
      assertEachObjectInOnePack(cluster, 8);
    }
  }

  @Test
  void keyList_archivesTheBucketWithoutListingIt_repeatsOnce() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, 10, 3);
      // As aws s3 ls --recursive prints it, gzip-compressed, and the whole list twice.
      StringBuilder ls = new StringBuilder();
      for (StoredObject o : everything(cluster)) {
        ls.append("2024-01-31 12:00:00 ").append(String.format("%10d", o.size())).append(' ').append(o.key()).append('\n');
      }
      Path list = dir.resolve("keys.txt.gz");
      try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(list))) {
        out.write((ls.toString() + ls).getBytes(StandardCharsets.UTF_8));
      }
      RecordingObjects bucket = new RecordingObjects(cluster.objects);
      MigrationSummary summary = cluster.migrate(config(dir.resolve("work"), 64L << 20).withKeysFrom(List.of(list)),
          cluster.catalog, bucket);
      assertEquals(10, summary.narsArchived(), summary.toString());
      assertEquals(10, summary.alreadyArchived(), "the second time through the list: " + summary);
      for (CacheGenerator.GeneratedPath p : paths) {
        assertTrue(cluster.catalog.isArchived(p.storePath().hashPart()), p.storePath() + " archived");
      }
      assertEquals(List.of(), bucket.listedAfter, "the bucket is never listed");
      assertEachObjectInOnePack(cluster, 10);
    }
  }

  @Test
  void twoWorkersOnShardsOneAndTwoOfTwo_listOnlyTheirHalf_andArchiveItAllExactlyOnce() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 8, Duration.ofHours(1), MigrationWorkersTest.catalogUrl(dir))) {
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, 24, 4);
      List<RecordingObjects> buckets = List.of(new RecordingObjects(cluster.objects),
          new RecordingObjects(cluster.objects));
      List<MigrationSummary> summaries = new ArrayList<>();
      List<Catalog> catalogs = new ArrayList<>();
      try (ExecutorService workers = Executors.newFixedThreadPool(2)) {
        List<Future<MigrationSummary>> runs = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
          Catalog own = Catalog.open(cluster.catalogUrl);
          catalogs.add(own);
          MigrateConfig config = config(dir.resolve("work-" + w), 20_000)
              .with(ColdSelection.ALL.withShard(new Shard(w + 1, 2)), DrainConfig.DRY_RUN);
          RecordingObjects bucket = buckets.get(w);
          runs.add(workers.submit(() -> cluster.migrate(config, own, bucket)));
        }
        for (Future<MigrationSummary> r : runs) {
          summaries.add(r.get());
        }
      } finally {
        catalogs.forEach(Catalog::close);
      }
      for (int w = 0; w < 2; w++) {
        Shard shard = new Shard(w + 1, 2);
        assertEquals(List.of(shard.startAfter()), buckets.get(w).listedAfter, "one listing from the shard's start");
        for (String key : buckets.get(w).listed) {
          assertTrue(!key.endsWith(".narinfo") || shard.contains(key) || shard.isPast(key),
              "worker " + shard + " was handed " + key);
        }
        assertEquals(0, summaries.get(w).busy(), "shards never meet: " + summaries.get(w));
      }
      long inFirst = paths.stream().filter(p -> new Shard(1, 2).contains(p.storePath().hashPart())).count();
      assertTrue(inFirst > 0 && inFirst < 24, "both shards have work: " + inFirst);
      assertEquals(inFirst, summaries.get(0).narsArchived(), summaries.toString());
      assertEquals(24 - inFirst, summaries.get(1).narsArchived(), summaries.toString());
      for (CacheGenerator.GeneratedPath p : paths) {
        assertTrue(cluster.catalog.isArchived(p.storePath().hashPart()), p.storePath() + " archived");
      }
      assertEachObjectInOnePack(cluster, 24);
    }
  }

  @Test
  void aRunStoppedPartWay_isContinuedAfterItsCheckpoint_withNothingSkipped() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, 16, 5);
      List<String> keys = paths.stream().map(p -> p.storePath().hashPart() + ".narinfo").sorted().toList();
      String failing = keys.get(9);
      String failingNar = paths.stream().filter(p -> (p.storePath().hashPart() + ".narinfo").equals(failing))
          .findFirst().orElseThrow().narKey();
      // A pack per NAR, so that packs commit one after another as the listing goes.
      MigrateConfig config = config(dir.resolve("work"), 1);
      IOException stopped = assertThrows(IOException.class,
          () -> cluster.migrate(config, cluster.catalog, new RecordingObjects(cluster.objects).failOpening(failingNar)));
      assertTrue(stopped.getMessage().contains("injected"), stopped.getMessage());
      long archivedFirst = cluster.catalog.totals()[1];
      assertTrue(archivedFirst >= 7, "the first run archived what came before the failure: " + archivedFirst);
      assertFalse(cluster.catalog.isArchived(failing.substring(0, 32)));

      // Another selection has a pass of its own: it does not continue where this one stopped.
      Path onlyFirst = Files.writeString(dir.resolve("paths.txt"), keys.getFirst().substring(0, 32) + "\n");
      RecordingObjects other = new RecordingObjects(cluster.objects);
      MigrationSummary otherRun = cluster.migrate(config.with(new ColdSelection(Optional.empty(), Optional.of(onlyFirst),
          Optional.empty()), DrainConfig.DRY_RUN), cluster.catalog, other);
      assertEquals(List.of(""), other.listedAfter, "its own pass, from the start");
      assertEquals(0, otherRun.narsArchived(), otherRun.toString());

      RecordingObjects bucket = new RecordingObjects(cluster.objects);
      MigrationSummary second = cluster.migrate(config, cluster.catalog, bucket);
      String after = bucket.listedAfter.getFirst();
      assertTrue(keys.indexOf(after) >= 6 && after.compareTo(failing) < 0,
          "continued after the last key fully handled, before the one that failed: " + after);
      assertTrue(bucket.listed.stream().allMatch(k -> k.compareTo(after) > 0), "nothing before it listed again");
      assertEquals(16, archivedFirst + second.narsArchived(), "first " + archivedFirst + ", then " + second);
      for (String key : keys) {
        assertTrue(cluster.catalog.isArchived(key.substring(0, 32)), key + " archived: nothing skipped");
      }
      assertEachObjectInOnePack(cluster, 16);

      // That pass is complete: the next run lists from the start again (and finds nothing new).
      RecordingObjects third = new RecordingObjects(cluster.objects);
      assertEquals(0, cluster.migrate(config, cluster.catalog, third).narsArchived());
      assertEquals(List.of(""), third.listedAfter);
    }
  }

  @Test
  void aWorkerKilledMidListing_isContinuedPastTheKeysItHandled_withNothingSkipped() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 6)) {
      List<CacheGenerator.GeneratedPath> paths = generate(cluster, 40, 6);
      Path workerKey = Files.writeString(dir.resolve("worker.key"), cluster.workerKey.toFileContents() + "\n");
      Path archiveKey = Files.writeString(dir.resolve("archive.key"), cluster.archiveKey.toFileContents() + "\n");
      List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
          Narvault.class.getName(), "migrate", "--bucket", "cache", "--s3-endpoint", cluster.s3.endpoint().toString(),
          "--catalog", cluster.catalogUrl, "--coordinator", cluster.coordinator.endpoint().toString(),
          "--worker-key", workerKey.toString(), "--trusted-public-key", cacheKey.publicKey().toString(),
          "--archive-key", archiveKey.toString(), "--k", "4", "--m", "2", "--pack-size", "1",
          "--work-dir", dir.resolve("work").toString(), "--claim-lifetime", "1s");
      ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dir.resolve("migrate.log").toFile());
      b.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3.ACCESS_KEY);
      b.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3.SECRET_KEY);
      Process worker = b.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (cluster.catalog.totals()[0] < 8 && worker.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(worker.isAlive(), "killed mid-way, not after the end: " + Files.readString(dir.resolve("migrate.log")));
      worker.destroyForcibly();
      assertTrue(worker.waitFor(30, TimeUnit.SECONDS));
      Map<String, String> saved = cluster.catalog.listingCheckpoints().all();
      assertEquals(1, saved.size(), saved.toString());
      assertTrue(saved.keySet().iterator().next().startsWith(cluster.objects.location() + " shard 1/1 selection "),
          saved.toString());
      String checkpoint = saved.values().iterator().next();
      List<String> keys = paths.stream().map(p -> p.storePath().hashPart() + ".narinfo").sorted().toList();
      for (String key : keys) {
        if (key.compareTo(checkpoint) <= 0) {
          assertTrue(cluster.catalog.isArchived(key.substring(0, 32)), key + " is before the checkpoint "
              + checkpoint + " but not archived");
        }
      }
      long archivedBefore = cluster.catalog.totals()[1];
      System.out.println("killed after " + archivedBefore + " of 40 NARs; checkpoint at key "
          + (keys.indexOf(checkpoint) + 1));

      Thread.sleep(1_100); // the killed worker's claims lapse
      RecordingObjects bucket = new RecordingObjects(cluster.objects);
      MigrationSummary rest = cluster.migrate(config(dir.resolve("work"), 1), cluster.catalog, bucket);
      assertEquals(List.of(checkpoint), bucket.listedAfter, "listed after the checkpoint");
      assertTrue(bucket.listed.stream().allMatch(k -> k.compareTo(checkpoint) > 0));
      assertEquals(40, archivedBefore + rest.narsArchived(), rest.toString());
      for (String key : keys) {
        assertTrue(cluster.catalog.isArchived(key.substring(0, 32)), key + " archived: nothing skipped");
      }
      assertEachObjectInOnePack(cluster, 40);
    }
  }
}
