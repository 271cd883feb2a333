package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.S3ObjectSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of {@code narvault migrate --drain --backstop-bucket} at random moments, then a
 * rerun: after every kill, every NAR that left S3 belongs to a pack whose backstop is recorded and
 * is in the bucket, exact; in the end every pack has its backstop and every NAR left S3.
 */
class BackstopKillTest {
  private static final int KILLS = 8;
  private static final int CLAIM_SECONDS = 1;

  @TempDir
  Path dir;

  @Test
  void killedAnywhere_noNarLeavesS3BeforeItsPacksBackstop_andAFinalRunGivesEveryPackOne() throws Exception {
    long seed = new SecureRandom().nextLong();
    System.out.println("backstop kill test seed: " + seed);
    Random random = new Random(seed);
    try (Cluster cluster = new Cluster(dir.resolve("cluster"), 6);
        S3ObjectSource backstops = BackstopTest.backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        sizes.add(20_000 + random.nextInt(100_000));
      }
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, cluster.objects).generate(sizes, seed, 2);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      Path workerKey = Files.writeString(dir.resolve("worker.key"), cluster.workerKey.toFileContents() + "\n");
      Path archiveKey = Files.writeString(dir.resolve("archive.key"), cluster.archiveKey.toFileContents() + "\n");
      List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
          Narvault.class.getName(), "migrate", "--bucket", "cache", "--s3-endpoint", cluster.s3.endpoint().toString(),
          "--catalog", "jdbc:sqlite:" + cluster.dir.resolve("catalog.db"), "--coordinator",
          cluster.coordinator.endpoint().toString(), "--worker-key", workerKey.toString(), "--trusted-public-key",
          cacheKey.publicKey().toString(), "--archive-key", archiveKey.toString(), "--archive-public-key",
          cluster.archiveKey.publicKey().toString(), "--k", "4", "--m", "2", "--pack-size", "40000", "--work-dir",
          dir.resolve("work").toString(), "--drain", "--backstop-bucket", "backstop",
          "--claim-lifetime", CLAIM_SECONDS + "s");
      int killed = 0;
      for (int run = 0; killed < KILLS && run < KILLS * 3; run++) {
        Thread.sleep(CLAIM_SECONDS * 1000L + 100);
        Process p = start(command, run);
        boolean finished = p.waitFor(600 + random.nextInt(3000), TimeUnit.MILLISECONDS);
        if (!finished) {
          p.destroyForcibly();
          assertTrue(p.waitFor(30, TimeUnit.SECONDS));
          killed++;
        }
        assertDrainedOnlyWithBackstops(cluster, backstops, original, "after run " + run);
        if (finished) {
          break;
        }
      }
      Thread.sleep(CLAIM_SECONDS * 1000L + 100);
      Process last = start(command, 99);
      assertTrue(last.waitFor(3, TimeUnit.MINUTES), "the final run finishes");
      assertEquals(0, last.exitValue(), Files.readString(dir.resolve("migrate-99.log")));
      assertDrainedOnlyWithBackstops(cluster, backstops, original, "at the end");
      Set<PackId> packs = BackstopTest.packsOf(cluster, paths);
      for (PackId packId : packs) {
        BackstopTest.assertObjectIsThePack(cluster, backstops, packId);
      }
      for (CacheGenerator.GeneratedPath p : paths) {
        assertFalse(DrainTest.exists(cluster, p.narKey()), p.narKey() + " left S3 in the end");
      }
      System.out.println("backstop kill test: " + killed + " kills, " + packs.size() + " packs with backstops");
    }
  }

  private Process start(List<String> command, int run) throws Exception {
    ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("migrate-" + run + ".log").toFile());
    b.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3.ACCESS_KEY);
    b.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3.SECRET_KEY);
    return b.start();
  }

  private static void assertDrainedOnlyWithBackstops(Cluster cluster, S3ObjectSource backstops,
      Map<String, byte[]> original, String when) throws Exception {
    Set<PackId> checked = new HashSet<>();
    for (Map.Entry<String, byte[]> e : original.entrySet()) {
      if (DrainTest.exists(cluster, e.getKey())) {
        assertArrayEquals(e.getValue(), DrainTest.read(cluster, e.getKey()), when + ": " + e.getKey() + " intact");
        continue;
      }
      Optional<ArchivedNar> nar = cluster.catalog.narByFileKey(e.getKey());
      assertTrue(nar.isPresent(), when + ": " + e.getKey() + " is neither in S3 nor archived");
      PackId packId = nar.get().packId();
      assertTrue(cluster.catalog.backstops().of(packId).isPresent(),
          when + ": " + e.getKey() + " left S3 but its pack has no backstop");
      if (checked.add(packId)) {
        BackstopTest.assertObjectIsThePack(cluster, backstops, packId);
      }
    }
  }
}
