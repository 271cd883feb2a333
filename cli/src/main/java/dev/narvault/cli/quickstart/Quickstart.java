package dev.narvault.cli.quickstart;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.core.archive.Archive;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.CoordinatorMetrics;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The whole system in one process: S3 seeded with a generated cache, a coordinator with repair
 * on, holders (each on its own loopback /16, 127.N.0.1, so that the failure-domain limits hold), migrate,
 * m holders stopped and their fragments rebuilt by repair onto the others, the gateway.
 * {@link #check} stops m more holders and fetches every NAR back through the gateway.
 */
public final class Quickstart implements AutoCloseable {
  /** What to run: sizes, code, ports. */
  public record Settings(Path dir, int holders, int dataFragmentCount, int parityFragmentCount, int port,
      int paths, long packSize) {}

  /** How long a holder may be silent before the quickstart's coordinator counts it offline. */
  static final Duration OFFLINE_AFTER = Duration.ofSeconds(3);
  private static final Duration HEARTBEAT = Duration.ofMillis(500);

  private final Settings settings;
  private final PrintStream out;
  /** What is running, oldest first; stopped newest first. Shared with a shutdown hook. */
  private final List<AutoCloseable> running = Collections.synchronizedList(new ArrayList<>());
  private EmbeddedS3 s3;
  private NixSecretKey cacheKey;
  private List<CacheGenerator.GeneratedPath> generated;
  private GatewayServer gateway;
  private final List<HolderServer> holders = new ArrayList<>();
  private int stopped;

  public Quickstart(Settings settings, PrintStream out) {
    this.settings = settings;
    this.out = out;
  }

  /** Starts everything; on return the gateway is serving. */
  public void start() throws IOException {
    long t0 = System.nanoTime();
    Path dir = settings.dir();
    out.println("narvault quickstart in " + dir);
    s3 = EmbeddedS3.start(dir.resolve("s3"), "nix-cache");
    running.add(s3);
    out.println("S3 (S3Proxy) at " + s3.endpoint() + ", bucket nix-cache");

    cacheKey = NixSecretKey.generate("quickstart-cache-1", new SecureRandom());
    List<Integer> sizes = CacheGenerator.quickstartSizes(settings.paths(), 42);
    try (S3ObjectSource objects = new S3ObjectSource(s3.config())) {
      generated = new CacheGenerator(cacheKey, objects).generate(sizes, 42, Runtime.getRuntime().availableProcessors());
    }
    long narBytes = generated.stream().mapToLong(CacheGenerator.GeneratedPath::narSize).sum();
    long fileBytes = generated.stream().mapToLong(CacheGenerator.GeneratedPath::fileSize).sum();
    out.printf(Locale.ROOT, "seeded a binary cache: %d paths, %.0f MiB of NARs, %.0f MiB xz-compressed (%.1f s)%n",
        generated.size(), narBytes / 1048576.0, fileBytes / 1048576.0, seconds(t0));

    String catalogUrl = "jdbc:sqlite:" + dir.resolve("catalog.db");
    Catalog catalog = Catalog.open(catalogUrl);
    running.add(catalog);
    NixSecretKey coordinatorKey = NixSecretKey.generate("quickstart-coordinator-1", new SecureRandom());
    NixSecretKey workerKey = NixSecretKey.generate("quickstart-worker-1", new SecureRandom());
    NixSecretKey archiveKey = NixSecretKey.generate("quickstart-archive-1", new SecureRandom());
    Coordinator coordinator = Coordinator.start(new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0),
        coordinatorKey, List.of(workerKey.publicKey()), Optional.of(TrustedKeys.of(archiveKey.publicKey())),
        // Repair threshold r = m: every lost fragment is rebuilt, so the demo always shows repair
        // (production's default r = ceil(m/2) lets packs lose a few before spending bandwidth).
        new HolderRules(OFFLINE_AFTER, Duration.ZERO), settings.parityFragmentCount(), Duration.ofSeconds(1),
        Duration.ofSeconds(10), 0,
        Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders(), catalog, InstantSource.system());
    out.println("coordinator at " + coordinator.endpoint() + " (repair on, every lost fragment rebuilt; holders "
        + "offline after " + OFFLINE_AFTER.toSeconds() + " s of silence)");

    for (int i = 0; i < settings.holders(); i++) {
      // 127.N.0.1: every holder in its own /16 (and /24), as volunteers on the internet would be.
      HolderServer h = HolderServer.start(HolderConfig.of(new InetSocketAddress("127." + (i + 1) + ".0.1", 0),
          dir.resolve("holders/holder-" + i), 1L << 30, coordinatorKey.publicKey())
          .withCoordinator(coordinator.endpoint()).withHeartbeat(HEARTBEAT));
      holders.add(h);
      running.add(h);
    }
    // Stopped before the holders (newest first), so that shutting down does not look like holders failing.
    running.add(coordinator);
    awaitRegistered(catalog);
    out.println("started " + holders.size() + " holders on 127.1.0.1 ... 127." + holders.size() + ".0.1, registered");
    MigrateConfig config = new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), settings.dataFragmentCount(),
        settings.parityFragmentCount(), settings.packSize(), PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(),
        dir.resolve("work"), 0);
    MigrationSummary summary;
    try (S3ObjectSource objects = new S3ObjectSource(s3.config())) {
      summary = new Migration(config, objects, catalog, new HolderClient(Duration.ofSeconds(30)), archiveKey,
          new PlacementClient(coordinator.endpoint(), workerKey, InstantSource.system()), out, Clock.systemUTC()).run();
    }
    out.println("migrate: " + summary);

    stopHolders(settings.parityFragmentCount());
    awaitRepair(coordinator);

    S3ObjectSource fallback = new S3ObjectSource(s3.config());
    running.add(fallback);
    gateway = GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", settings.port()),
        GatewayConfig.DEFAULT_PRIORITY), new Archive(catalog, new HolderClient(Duration.ofSeconds(10)),
            Optional.of(TrustedKeys.of(archiveKey.publicKey()))), fallback);
    running.add(gateway);
    out.printf(Locale.ROOT, "ready in %.1f s%n%n", seconds(t0));
    out.println("substituter:     " + gateway.endpoint());
    out.println("public key:      " + cacheKey.publicKey());
    out.println("try it (as root, with Debian's nix-bin):");
    // Show a path with a reference, so that Nix fetches a closure of two.
    StorePath example = generated.stream().filter(p -> !p.references().isEmpty()).findFirst()
        .orElse(generated.getFirst()).storePath();
    out.println("  nix-store --realise " + example + " \\");
    out.println("    --option substituters " + gateway.endpoint() + " \\");
    out.println("    --option trusted-public-keys " + cacheKey.publicKey());
  }

  private void awaitRegistered(Catalog catalog) throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (catalog.holders().size() < holders.size()) {
      if (System.nanoTime() > deadline) {
        throw new IOException("only " + catalog.holders().size() + " of " + holders.size()
            + " holders registered with the coordinator within 30 s");
      }
      sleep(100);
    }
  }

  /** Stops the next {@code count} running holders, as if their volunteers had left. */
  private void stopHolders(int count) {
    List<String> where = new ArrayList<>();
    for (int i = 0; i < count && stopped < holders.size(); i++, stopped++) {
      HolderServer h = holders.get(stopped);
      where.add(h.endpoint().toString());
      h.close();
      running.remove(h);
    }
    out.println("stopped " + where.size() + " holders " + where);
  }

  /** Waits until the coordinator has noticed the stopped holders and repaired every pack. */
  private void awaitRepair(Coordinator coordinator) throws IOException {
    long t0 = System.nanoTime();
    long deadline = t0 + Duration.ofMinutes(3).toNanos();
    out.println("waiting for repair: holders silent for " + OFFLINE_AFTER.toSeconds()
        + " s count as offline, their fragments are rebuilt onto the other holders");
    sleep(OFFLINE_AFTER.toMillis() + 1000);
    CoordinatorMetrics metrics = coordinator.metrics();
    while (true) {
      try {
        if (coordinator.repairer().queue().isEmpty() && metrics.packsDegraded() == 0) {
          break;
        }
      } catch (CatalogException e) {
        throw new IOException(e.getMessage(), e);
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("repair did not finish within 3 minutes: " + metrics.packsDegraded()
            + " packs still degraded");
      }
      sleep(250);
    }
    out.printf(Locale.ROOT, "repair: rebuilt %d fragments in %d pack repairs (%.1f MiB placed) in %.1f s; every pack has k+m "
        + "healthy fragments again%n", metrics.fragmentsRebuilt(), metrics.packsRepaired(),
        metrics.bytesWritten() / 1048576.0, seconds(t0));
  }

  private static void sleep(long millis) throws IOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /**
   * Stops m more holders, then fetches every generated NAR through the gateway over HTTP and
   * checks its FileHash.
   *
   * @return the number of NARs that failed (0 = all verified)
   */
  public int check() throws IOException {
    stopHolders(settings.parityFragmentCount());
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    int failed = 0;
    long bytes = 0;
    long t0 = System.nanoTime();
    for (CacheGenerator.GeneratedPath p : generated) {
      URI uri = URI.create(gateway.endpoint() + "/" + p.narKey());
      try {
        HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2)).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        MessageDigest digest = Sha256Hash.newDigest();
        long n;
        try (InputStream in = new DigestInputStream(r.body(), digest)) {
          n = in.transferTo(OutputStream.nullOutputStream());
        }
        Sha256Hash got = new Sha256Hash(digest.digest());
        if (r.statusCode() != 200 || n != p.fileSize() || !got.equals(p.fileHash())) {
          failed++;
          out.println("  FAILED " + p.storePath() + ": HTTP " + r.statusCode() + ", " + n + " bytes, " + got);
        }
        bytes += n;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      } catch (IOException e) {
        failed++;
        out.println("  FAILED " + p.storePath() + ": " + e.getMessage());
      }
    }
    out.printf(Locale.ROOT, "check: %d of %d NARs verified (%.0f MiB in %.1f s) through %s%n",
        generated.size() - failed, generated.size(), bytes / 1048576.0, seconds(t0), gateway.endpoint());
    return failed;
  }

  public GatewayServer gateway() {
    return gateway;
  }

  private static double seconds(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }

  /** Stops everything, newest first; safe to call twice and from a shutdown hook. */
  @Override
  public synchronized void close() {
    List<AutoCloseable> toStop;
    synchronized (running) {
      toStop = new ArrayList<>(running);
      running.clear();
    }
    for (AutoCloseable c : toStop.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        out.println("while stopping: " + e.getMessage());
      }
    }
  }
}
