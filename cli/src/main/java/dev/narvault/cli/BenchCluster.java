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
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * What the bench commands run on, all in this process on loopback: an embedded S3 holding a
 * generated cache, a SQLite catalog, a coordinator and holders on 127.N.0.1 (each its own /16).
 * {@link #close} stops what is still running, newest first.
 */
final class BenchCluster implements AutoCloseable {
  final Path dir;
  final S3ObjectSource objects;
  final EmbeddedS3 s3;
  final NixSecretKey cacheKey = NixSecretKey.generate("bench-cache-1", new SecureRandom());
  final NixSecretKey workerKey = NixSecretKey.generate("bench-worker-1", new SecureRandom());
  final NixSecretKey archiveKey = NixSecretKey.generate("bench-archive-1", new SecureRandom());
  final List<HolderServer> holders = new ArrayList<>();
  /** The link in front of each holder, when there is one. */
  private final java.util.Map<HolderServer, BenchLink> links = new java.util.HashMap<>();
  Catalog catalog;
  Coordinator coordinator;
  private final List<AutoCloseable> running = new ArrayList<>();

  private BenchCluster(Path dir) throws IOException {
    this.dir = dir;
    this.s3 = EmbeddedS3.start(dir.resolve("s3"), "cache");
    running.add(s3);
    this.objects = new S3ObjectSource(s3.config());
    running.add(objects);
  }

  /** An embedded S3 in {@code dir}; holders come with {@link #startArchive}. */
  static BenchCluster start(Path dir) throws IOException {
    return new BenchCluster(dir);
  }

  /**
   * {@code nars} NARs of 1-4 MiB (xz), or, with {@code bigNar} > 0, one NAR of that size (zstd,
   * streamed through a file), each with its signed narinfo.
   */
  List<CacheGenerator.GeneratedPath> generate(int nars, long bigNar) throws Exception {
    return generate(nars, bigNar, 1);
  }

  /** As {@link #generate(int, long)}, with {@code bigCount} different NARs of {@code bigNar} bytes. */
  List<CacheGenerator.GeneratedPath> generate(int nars, long bigNar, int bigCount) throws Exception {
    if (bigNar > 0) {
      List<CacheGenerator.GeneratedPath> big = new ArrayList<>();
      for (int i = 0; i < bigCount; i++) {
        big.add(BenchMigrateCommand.generateBig(objects, cacheKey, dir, bigNar, i));
      }
      return big;
    }
    Random random = new Random(7);
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0; i < nars; i++) {
      sizes.add((1 << 20) + random.nextInt(3 << 20));
    }
    return new CacheGenerator(cacheKey, objects).generate(sizes, 7, Runtime.getRuntime().availableProcessors());
  }

  /** The catalog, the coordinator and {@code count} holders, waiting until all have registered. */
  void startArchive(int count, long holderCapacity) throws Exception {
    startArchive(count, holderCapacity, 0, 0);
  }

  /**
   * As {@link #startArchive(int, long)}, with every holder's uploads capped at {@code uploadCap}
   * bytes/s (0: none) by its own {@code --max-upload-speed}, and, with {@code roundTripMillis} > 0,
   * a {@link BenchLink} in front of each (at 127.N.0.2) adding that round trip: the holder
   * advertises the link, so the coordinator, migrations and the gateway all reach it through it.
   */
  void startArchive(int count, long holderCapacity, long uploadCap, long roundTripMillis) throws Exception {
    catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
    running.add(catalog);
    NixSecretKey coordinatorKey = NixSecretKey.generate("bench-coordinator-1", new SecureRandom());
    coordinator = Coordinator.start(new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0),
        coordinatorKey, List.of(workerKey.publicKey()), Optional.empty(),
        new HolderRules(Duration.ofHours(1), Duration.ZERO), -1, Duration.ZERO, Duration.ZERO, 0,
        Duration.ofMinutes(5), dir.resolve("repair")).allowingPrivateHolders(), catalog, InstantSource.system());
    running.add(coordinator);
    for (int i = 0; i < count; i++) {
      // Heartbeats at the holders' default (30 s; each registers at once): they are the cluster's
      // background work, which a bench charges to whatever it measures meanwhile. At 200 ms, 14
      // holders' signed heartbeats and the coordinator's checks of them took about 0.15 of a core.
      HolderConfig config = HolderConfig.of(new InetSocketAddress("127." + (i + 1) + ".0.1", 0),
              dir.resolve("holder-" + i), holderCapacity, coordinatorKey.publicKey())
          .withCoordinator(coordinator.endpoint()).withSpeeds(uploadCap, 0);
      BenchLink link = null;
      if (roundTripMillis > 0) {
        link = BenchLink.listen(new InetSocketAddress("127." + (i + 1) + ".0.2", 0), roundTripMillis);
        running.add(link);
        config = config.withDescription(Optional.of(link.endpoint()), "", "");
      }
      HolderServer h = HolderServer.start(config);
      if (link != null) {
        link.connectTo(h.endpoint());
        links.put(h, link);
      }
      running.add(h);
      holders.add(h);
    }
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (catalog.holders().size() < count && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
  }

  /** A migration of this cache with RS(k,m) into packs of {@code packSize}; {@code limit} 0 takes all. */
  Migration migration(int k, int m, long packSize, int limit, PrintStream log) {
    MigrateConfig config = new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), k, m, packSize,
        PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), limit);
    return new Migration(config, objects, catalog, new HolderClient(Duration.ofSeconds(30)), archiveKey,
        new PlacementClient(coordinator.endpoint(), workerKey, InstantSource.system()), log, Clock.systemUTC());
  }

  /** Something else to stop at {@link #close}, before everything started so far. */
  void alsoClose(AutoCloseable c) {
    running.add(c);
  }

  /** The address the archive knows a holder by: its link's, when it has one. */
  String endpoint(HolderServer holder) {
    BenchLink link = links.get(holder);
    return (link == null ? holder.endpoint() : link.endpoint()).toString();
  }

  /** Stops one holder now, and the link in front of it. */
  void stopHolder(HolderServer holder) {
    holder.close();
    running.remove(holder);
    BenchLink link = links.remove(holder);
    if (link != null) {
      link.close();
      running.remove(link);
    }
  }

  @Override
  public void close() {
    for (AutoCloseable c : running.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        System.err.println("while stopping: " + e.getMessage());
      }
    }
  }
}
