package dev.narvault.cli;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench migrate}: the migration's throughput against a plain S3 GET of the same
 * objects, measured in the same run on loopback (S3Proxy, holders, coordinator in this process).
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    header = "Measure migrate against plain S3 reads of the same NARs (loopback, a minute or two).",
    description = {"Generates a cache of --nars NARs of 1-4 MiB (xz) in an embedded S3, starts a coordinator",
        "and --holders holders on loopback, reads every NAR object with a plain S3 GET (4 at once,",
        "like migrate's fetch window), migrates them with RS(k,m), reads them again, and prints",
        "stored MiB/s for each and migrate's ratio to the median plain read."})
final class BenchMigrateCommand implements Callable<Integer> {
  @Option(names = "--nars", defaultValue = "48", description = "NARs to generate (default: ${DEFAULT-VALUE}).")
  int nars;

  @Option(names = "--holders", defaultValue = "14", description = "Holders (default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--k", defaultValue = "10", description = "Data fragments (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--m", defaultValue = "4", description = "Parity fragments (default: ${DEFAULT-VALUE}).")
  int m;

  private final PrintStream out;

  BenchMigrateCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (nars < 1 || holders < k + m || k < 1 || m < 1) {
      throw new IllegalArgumentException("need --nars >= 1 and --holders >= k + m");
    }
    Path dir = Files.createTempDirectory("narvault-bench-migrate-");
    List<AutoCloseable> running = new ArrayList<>();
    try {
      EmbeddedS3 s3 = EmbeddedS3.start(dir.resolve("s3"), "cache");
      running.add(s3);
      S3ObjectSource objects = new S3ObjectSource(s3.config());
      running.add(objects);
      NixSecretKey cacheKey = NixSecretKey.generate("bench-cache-1", new SecureRandom());
      Random random = new Random(7);
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < nars; i++) {
        sizes.add((1 << 20) + random.nextInt(3 << 20));
      }
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, objects).generate(sizes, 7,
          Runtime.getRuntime().availableProcessors());
      long stored = paths.stream().mapToLong(CacheGenerator.GeneratedPath::fileSize).sum();
      out.printf(Locale.ROOT, "generated %d NARs: %.1f MiB of NARs, %.1f MiB stored (xz)%n", nars,
          paths.stream().mapToLong(CacheGenerator.GeneratedPath::narSize).sum() / 1048576.0, stored / 1048576.0);

      Catalog catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
      running.add(catalog);
      NixSecretKey coordinatorKey = NixSecretKey.generate("bench-coordinator-1", new SecureRandom());
      NixSecretKey workerKey = NixSecretKey.generate("bench-worker-1", new SecureRandom());
      NixSecretKey archiveKey = NixSecretKey.generate("bench-archive-1", new SecureRandom());
      Coordinator coordinator = Coordinator.start(new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0),
          coordinatorKey, List.of(workerKey.publicKey()), Optional.empty(),
          new HolderRules(Duration.ofHours(1), Duration.ZERO), -1, Duration.ZERO, Duration.ZERO, 0,
          Duration.ofMinutes(5), dir.resolve("repair")), catalog, InstantSource.system());
      running.add(coordinator);
      for (int i = 0; i < holders; i++) {
        running.add(HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0." + (i + 1) + ".1", 0),
            dir.resolve("holder-" + i), 4L << 30, coordinatorKey.publicKey())
            .withCoordinator(coordinator.endpoint()).withHeartbeat(Duration.ofMillis(200))));
      }
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (catalog.holders().size() < holders && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }

      double before = plainRead(objects, paths, stored);
      MigrateConfig config = new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), k, m, 64L << 20,
          PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), 0);
      long t0 = System.nanoTime();
      MigrationSummary summary = new Migration(config, objects, catalog, new HolderClient(Duration.ofSeconds(30)),
          archiveKey, new PlacementClient(coordinator.endpoint(), workerKey, InstantSource.system()),
          new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC()).run();
      double migrate = stored / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
      double after = plainRead(objects, paths, stored);
      double baseline = Math.max(before, after) == 0 ? 1 : (before + after) / 2;
      out.println("what                         stored MiB/s   ratio to plain GET");
      out.printf(Locale.ROOT, "plain S3 GET, before          %12.1f%n", before);
      out.printf(Locale.ROOT, "migrate RS(%d,%d), dry run     %12.1f   %6.2fx%n", k, m, migrate, migrate / baseline);
      out.printf(Locale.ROOT, "plain S3 GET, after           %12.1f%n", after);
      out.println("migrate: " + summary);
      return 0;
    } finally {
      for (AutoCloseable c : running.reversed()) {
        try {
          c.close();
        } catch (Exception e) {
          out.println("while stopping: " + e.getMessage());
        }
      }
    }
  }

  /** Reads every NAR object, 4 at once; stored MiB/s. */
  private static double plainRead(S3ObjectSource objects, List<CacheGenerator.GeneratedPath> paths, long stored)
      throws Exception {
    long t0 = System.nanoTime();
    try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
      List<Future<Long>> reads = new ArrayList<>();
      for (CacheGenerator.GeneratedPath p : paths) {
        reads.add(pool.submit(() -> {
          try (InputStream in = objects.open(p.narKey())) {
            return in.transferTo(OutputStream.nullOutputStream());
          }
        }));
      }
      for (Future<Long> f : reads) {
        f.get();
      }
    }
    return stored / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
  }
}
