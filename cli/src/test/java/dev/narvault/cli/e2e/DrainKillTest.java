package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of a draining {@code narvault migrate} process at random moments, then a rerun:
 * after every kill, every NAR is still either in S3 or archived and readable with its exact bytes;
 * in the end every NAR has left S3 and every one is served from the archive.
 */
class DrainKillTest {
  private static final int KILLS = 20;
  /** Claims of a killed run block its objects this long; runs start no sooner. */
  private static final int CLAIM_SECONDS = 1;

  @TempDir
  Path dir;

  @Test
  void killedAnywhere_everyNarIsAlwaysInS3OrArchived_andARerunFinishes() throws Exception {
    long seed = new SecureRandom().nextLong();
    System.out.println("drain kill test seed: " + seed);
    Random random = new Random(seed);
    try (Cluster cluster = new Cluster(dir.resolve("cluster"), 8)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        sizes.add(20_000 + random.nextInt(130_000));
      }
      List<CacheGenerator.GeneratedPath> paths =
          new ArrayList<>(new CacheGenerator(cacheKey, cluster.objects).generate(sizes, seed, 2));
      Map<String, byte[]> original = new java.util.HashMap<>(DrainTest.objects(cluster, paths));
      Path workerKey = dir.resolve("worker.key");
      Files.writeString(workerKey, cluster.workerKey.toFileContents() + "\n");
      Path archiveKey = dir.resolve("archive.key");
      Files.writeString(archiveKey, cluster.archiveKey.toFileContents() + "\n");
      List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
          Narvault.class.getName(), "migrate", "--bucket", "cache", "--s3-endpoint", cluster.s3.endpoint().toString(),
          "--catalog", "jdbc:sqlite:" + cluster.dir.resolve("catalog.db"), "--coordinator",
          cluster.coordinator.endpoint().toString(), "--worker-key", workerKey.toString(), "--trusted-public-key",
          cacheKey.publicKey().toString(), "--archive-key", archiveKey.toString(), "--archive-public-key",
          cluster.archiveKey.publicKey().toString(), "--k", "4", "--m", "2", "--pack-size", "150000", "--work-dir",
          dir.resolve("work").toString(), "--drain",
          "--claim-lifetime", CLAIM_SECONDS + "s");
      int killed = 0;
      for (int run = 0; killed < KILLS && run < KILLS * 3; run++) {
        Thread.sleep(CLAIM_SECONDS * 1000L + 100);
        Process p = start(command, run);
        boolean finished = p.waitFor(400 + random.nextInt(3500), TimeUnit.MILLISECONDS);
        if (!finished) {
          p.destroyForcibly();
          assertTrue(p.waitFor(30, TimeUnit.SECONDS));
          killed++;
        }
        assertEveryNarInS3OrArchived(cluster, original, "after run " + run + (finished ? " (finished)" : " (killed)"));
        if (finished) {
          // Everything drained before the kill came: new cold NARs arrive, the next runs have work again.
          List<Integer> more = new ArrayList<>();
          for (int i = 0; i < 8; i++) {
            more.add(20_000 + random.nextInt(130_000));
          }
          List<CacheGenerator.GeneratedPath> added = new CacheGenerator(cacheKey, cluster.objects)
              .generate(more, seed + run + 1, 2);
          paths.addAll(added);
          original.putAll(DrainTest.objects(cluster, added));
        }
      }
      Thread.sleep(CLAIM_SECONDS * 1000L + 100);
      Process last = start(command, 99);
      assertTrue(last.waitFor(3, TimeUnit.MINUTES), "the final run finishes");
      assertEquals(0, last.exitValue(), Files.readString(dir.resolve("migrate-99.log")));
      assertEveryNarInS3OrArchived(cluster, original, "at the end");
      for (CacheGenerator.GeneratedPath p : paths) {
        assertTrue(!DrainTest.exists(cluster, p.narKey()), p.narKey() + " left S3");
        assertTrue(DrainTest.exists(cluster, p.storePath().hashPart() + ".narinfo"), "narinfos stay");
      }
      System.out.println("drain kill test: " + killed + " kills, every NAR kept, all drained in the end");
      assertEquals(KILLS, killed, "runs killed mid-way");
    }
  }

  private Process start(List<String> command, int run) throws Exception {
    ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("migrate-" + run + ".log").toFile());
    b.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3.ACCESS_KEY);
    b.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3.SECRET_KEY);
    return b.start();
  }

  private static void assertEveryNarInS3OrArchived(Cluster cluster, Map<String, byte[]> original, String when)
      throws Exception {
    Archive archive = new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
        Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey())));
    for (Map.Entry<String, byte[]> e : original.entrySet()) {
      if (DrainTest.exists(cluster, e.getKey())) {
        assertArrayEquals(e.getValue(), DrainTest.read(cluster, e.getKey()), when + ": " + e.getKey() + " in S3 intact");
        continue;
      }
      Optional<ArchivedNar> nar = cluster.catalog.narByFileKey(e.getKey());
      assertTrue(nar.isPresent(), when + ": " + e.getKey() + " is neither in S3 nor archived");
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      archive.read(nar.get(), 0, nar.get().length(), got);
      assertArrayEquals(e.getValue(), got.toByteArray(), when + ": " + e.getKey() + " reads back exact");
    }
  }
}
