package dev.narvault.cli.e2e;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrationSummary;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The drain against S3Proxy: cold NARs leave S3 only once archived and read back verified. */
class DrainTest {
  @TempDir
  Path dir;

  /** Makes an object look old to S3Proxy's filesystem backend (its mtime is the LastModified). */
  static void age(Cluster cluster, String key, Duration age) throws Exception {
    Files.setLastModifiedTime(cluster.dir.resolve("s3").resolve("cache").resolve(key),
        FileTime.from(Instant.now().minus(age)));
  }

  static Map<String, byte[]> objects(Cluster cluster, List<CacheGenerator.GeneratedPath> paths) throws Exception {
    Map<String, byte[]> map = new HashMap<>();
    for (CacheGenerator.GeneratedPath p : paths) {
      try (InputStream in = cluster.objects.open(p.narKey())) {
        map.put(p.narKey(), in.readAllBytes());
      }
    }
    return map;
  }

  @Test
  void drain_takesOnlyColdArchivedVerifiedNarsOutOfS3_andTheArchiveServesThem() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(20_000, 40_000, 60_000, 80_000, 100_000, 120_000), 41, 2);
      Map<String, byte[]> original = objects(cluster, paths);
      for (int i = 0; i < 4; i++) {
        age(cluster, paths.get(i).narKey(), Duration.ofDays(120));
      }
      Path excluded = Files.writeString(dir.resolve("exclude.txt"),
          paths.get(3).storePath() + "\n");
      ColdSelection cold = new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.of(excluded));

      // A dry run archives the cold ones and says what a drain would remove; S3 keeps everything.
      MigrationSummary dry = cluster.migrate(key.publicKey(), 4, 2, cold, DrainConfig.DRY_RUN);
      assertEquals(3, dry.narsArchived(), dry.toString());
      assertEquals(3, dry.notSelected(), "two hot, one excluded");
      assertEquals(3, dry.drain().pendingObjects());
      assertTrue(dry.toString().contains("a drain would remove 3 objects"), dry.toString());
      for (var p : paths) {
        assertArrayEquals(original.get(p.narKey()), DrainTest.read(cluster, p.narKey()));
      }

      MigrationSummary drained = cluster.migrate(key.publicKey(), 4, 2, cold,
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      assertEquals(0, drained.narsArchived());
      assertEquals(3, drained.drain().objects(), drained.toString());
      assertEquals(0, drained.drain().pendingObjects());
      for (int i = 0; i < 6; i++) {
        var p = paths.get(i);
        boolean shouldBeGone = i < 3;
        assertEquals(shouldBeGone, !exists(cluster, p.narKey()), "object of path " + i);
        assertTrue(exists(cluster, p.storePath().hashPart() + ".narinfo"), "narinfos stay");
        assertEquals(shouldBeGone ? Optional.of(Journal.State.DRAINED) : Optional.empty(),
            cluster.catalog.journal().state(p.storePath().hashPart()));
      }
      // What left S3 is served from the archive, byte for byte.
      RepairTest.assertReadsBack(cluster, original);
    }
  }

  @Test
  void drainToBucket_copiesBeforeDeleting_andAnUnsafePackIsNotDrained() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      try (S3ObjectSource cold = new S3ObjectSource(new dev.narvault.core.s3.S3Config(
          Optional.of(cluster.s3.endpoint()), "cold", "us-east-1", Optional.of("narvault"),
          Optional.of("narvault-secret")))) {
        cold.createBucket();
        NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
        List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
            .generate(List.of(30_000, 50_000), 42, 2);
        Map<String, byte[]> original = objects(cluster, paths);
        MigrationSummary first = cluster.migrate(key.publicKey(), 4, 2, 0, 1);
        assertEquals(2, first.packs(), "one NAR per pack");
        // Pack of path 1 loses 2 of its 6 fragments (corrupt): k + r = 5 healthy needed.
        PackId unsafePack = cluster.catalog.narByStoreHash(paths.get(1).storePath().hashPart()).orElseThrow().packId();
        for (int i = 0; i < 2; i++) {
          var f = cluster.catalog.placements(unsafePack).get(i);
          cluster.catalog.recordScrubReport(f.holderId(), f.fragmentId(), 1);
        }
        MigrationSummary moved = cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL,
            new DrainConfig(DrainConfig.Mode.MOVE, Optional.of("cold"), Optional.of("STANDARD"), -1,
                Optional.of(cluster.trustedArchiveKeys())));
        assertEquals(1, moved.drain().objects(), moved.toString());
        assertEquals(1, moved.drain().pendingObjects(), "the unsafe pack's NAR waits for repair");
        String gone = paths.get(0).narKey();
        assertFalse(exists(cluster, gone));
        try (InputStream in = cold.open(gone)) {
          assertArrayEquals(original.get(gone), in.readAllBytes(), "moved to the cold bucket intact");
        }
        assertTrue(exists(cluster, paths.get(1).narKey()), "not drained while its pack is unsafe");
        assertThrows(ObjectNotFoundException.class, () -> cold.stat(paths.get(1).narKey()));
      }
    }
  }

  @Test
  void aDrainKilledAfterVerifying_isFinishedByTheNextRun() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(30_000), 43, 1);
      cluster.migrate(key.publicKey(), 4, 2);
      String hash = paths.getFirst().storePath().hashPart();
      // As if a run had verified the read-back, deleted the object, and died before saying so.
      cluster.catalog.journal().advance(paths.getFirst().narKey(), Journal.State.COMMITTED, Journal.State.VERIFIED, 1);
      cluster.objects.delete(paths.getFirst().narKey());
      MigrationSummary next = cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL,
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      assertEquals(Optional.of(Journal.State.DRAINED), cluster.catalog.journal().state(hash));
      assertEquals(0, next.drain().pendingObjects());
    }
  }

  static byte[] read(Cluster cluster, String key) throws Exception {
    try (InputStream in = cluster.objects.open(key)) {
      return in.readAllBytes();
    }
  }

  static boolean exists(Cluster cluster, String key) throws Exception {
    try {
      cluster.objects.stat(key);
      return true;
    } catch (ObjectNotFoundException e) {
      return false;
    }
  }
}
