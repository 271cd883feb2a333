package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.http.PageServer;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.holder.HolderClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running coordinator: its HTTP server (membership, placements, metrics) and its background
 * loops — audits, and repair followed by garbage collection. A loop that throws anything, an
 * {@code Error} included, logs it and runs again next time; it never dies silently.
 */
public final class Coordinator implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);

  private final CoordinatorServer server;
  private final ScheduledExecutorService loops;
  private final Repairer repairer;
  private final GarbageCollector collector;
  private final Auditor auditor;
  private final CoordinatorMetrics metrics;
  private final PlacementService placements;
  private final InstantSource clock;
  private final Duration repairInterval;
  private volatile PageServer dashboard;
  private final InstanceGuard guard;

  /**
   * How long a coordinator waits at start for another process of its owner name to let go (one
   * that crashed lets go after {@link InstanceGuard#LEASE}); then it refuses to start.
   */
  static final Duration INSTANCE_WAIT = InstanceGuard.LEASE.plus(InstanceGuard.RENEW).plus(Duration.ofSeconds(15));

  private Coordinator(CoordinatorServer server, ScheduledExecutorService loops, Repairer repairer,
      GarbageCollector collector, Auditor auditor, CoordinatorMetrics metrics, PlacementService placements,
      InstantSource clock, Duration repairInterval, InstanceGuard guard) {
    this.guard = guard;
    this.clock = clock;
    this.repairInterval = repairInterval;
    this.server = server;
    this.loops = loops;
    this.repairer = repairer;
    this.collector = collector;
    this.auditor = auditor;
    this.metrics = metrics;
    this.placements = placements;
  }

  /**
   * This coordinator's owner name on repair claims and leases ({@link SharedWork}): the configured one, else one made up at first
   * start and kept in the work directory, one per port. Stable across restarts (a restarted
   * coordinator takes its claims back at once) while the work directory persists, and different
   * on every machine, even where coordinators share a key and a port (two owners of one name would
   * both repair one pack).
   */
  static String claimOwner(CoordinatorConfig config) throws IOException {
    if (!config.owner().isEmpty()) {
      return config.owner();
    }
    // One file per port: two coordinators on one host sharing a work directory bind different ports.
    java.nio.file.Path file = config.workDir().resolve("claim-owner-" + config.bind().getPort());
    if (java.nio.file.Files.exists(file)) {
      String kept = java.nio.file.Files.readString(file).strip();
      if (!kept.isEmpty()) {
        return kept;
      }
    }
    java.nio.file.Files.createDirectories(config.workDir());
    String made = "repair-" + java.util.UUID.randomUUID();
    java.nio.file.Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    java.nio.file.Files.writeString(temp, made + "\n");
    java.nio.file.Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return made;
  }

  public static Coordinator start(CoordinatorConfig config, Catalog catalog, InstantSource clock) throws IOException {
    CoordinatorMetrics metrics = new CoordinatorMetrics();
    PlacementService placements = new PlacementService(catalog, config.coordinatorKey(), config.rules(),
        config.limits(), clock);
    HolderClient holders = new HolderClient(Duration.ofSeconds(30));
    EndpointProver prover = new EndpointProver(new HolderClient(Duration.ofSeconds(10)), config.allowPrivateHolders());
    Membership membership = new Membership(catalog, clock, config.maxSkew(), prover,
        config.rules().offlineAfter().dividedBy(4));
    ManifestCache manifests = new ManifestCache(catalog, config.archiveKeys(), 256);
    SharedWork shared = new SharedWork(catalog.leases(), claimOwner(config), clock);
    InstanceGuard guard = InstanceGuard.acquire(catalog.leases(), shared.owner(), clock, INSTANCE_WAIT);
    Auditor auditor = new Auditor(catalog, holders, manifests, config.rules(), prover, metrics, clock,
        config.coordinatorKey(), shared, config.auditInterval());
    Repairer repairer = new Repairer(catalog, holders, placements, config.rules(), config.repairThreshold(),
        config.workDir(), config.maxRepairBytesPerSecond(), manifests, auditor, metrics, clock, shared);
    GarbageCollector collector = new GarbageCollector(catalog, holders, placements, config.rules(), metrics, clock,
        config.forgetAfter(), shared);
    CoordinatorServer server;
    try {
      server = CoordinatorServer.start(config.bind(), membership,
          new Standings(catalog, config.rules(), config.maxSkew(), clock),
          new PlacementEndpoint(placements, config.workerKeys(), clock, config.maxSkew(), metrics), metrics);
    } catch (IOException | RuntimeException e) {
      guard.close();
      throw e;
    }
    ScheduledExecutorService loops = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "coordinator-loop");
      t.setDaemon(true);
      return t;
    });
    Coordinator coordinator = new Coordinator(server, loops, repairer, collector, auditor, metrics, placements, clock,
        config.repairInterval(), guard);
    if (!config.repairInterval().isZero()) {
      schedule(loops, "repair", config.repairInterval(), guard, coordinator::repairAndCollect);
    }
    if (!config.auditInterval().isZero()) {
      schedule(loops, "audit", config.auditInterval(), guard, () -> {
        auditor.auditOnce();
        return null;
      });
    }
    return coordinator;
  }

  @FunctionalInterface
  private interface Work {
    Object run() throws Exception;
  }

  private static void schedule(ScheduledExecutorService loops, String name, Duration every, InstanceGuard guard,
      Work work) {
    loops.scheduleWithFixedDelay(() -> {
      if (!guard.held()) {
        return; // another process may run under this owner name: no round until the name is ours again
      }
      try {
        work.run();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Throwable e) {
        // Errors too: a dead repair loop would let the archive decay unnoticed.
        LOG.error("{} round failed, retrying in {}: {}", name, every, e.toString(), e);
      }
    }, every.toMillis(), every.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * One repair round, then document copies, moving a few fragments off nearly full holders, and
   * garbage collection. Several coordinators on one catalog share the work: packs are claimed one
   * by one, and the other three parts run under leases ({@link SharedWork}), each at most once per
   * {@code --repair-interval} by whichever coordinator comes first.
   */
  public Repairer.Round repairAndCollect() throws Exception {
    long nextDue = clock.millis() + repairInterval.toMillis();
    Repairer.Round round = repairer.repairOnce();
    repairer.repairDocuments(nextDue);
    repairer.rebalanceRound(REBALANCE_PER_ROUND, nextDue);
    collector.collectRound(nextDue);
    // The journal keeps its totals as it changes: a row per state, read every round.
    refreshArchiveTotals();
    return round;
  }

  /** Reads what the journal holds into the metrics (archived and drained objects and bytes). */
  public void refreshArchiveTotals() throws Exception {
    var journal = repairer.catalog().journal();
    Journal.Totals committed = journal.totals(Journal.State.COMMITTED);
    Journal.Totals verified = journal.totals(Journal.State.VERIFIED);
    Journal.Totals drained = journal.totals(Journal.State.DRAINED);
    // Put back into S3 after the drain (promote): still archived.
    Journal.Totals restored = journal.totals(Journal.State.RESTORED);
    metrics.archive(new Journal.Totals(committed.objects() + verified.objects() + drained.objects() + restored.objects(),
        committed.bytes() + verified.bytes() + drained.bytes() + restored.bytes()), drained);
  }

  /**
   * Serves the archive's dashboard ({@link ArchivePage}) at {@code bind}, with the S3 storage
   * price per GiB-month its savings are counted at; closed with the coordinator.
   */
  public URI startDashboard(InetSocketAddress bind, double s3PricePerGiBMonth) throws IOException {
    if (!(s3PricePerGiBMonth >= 0)) {
      throw new IllegalArgumentException("the S3 price must be >= 0, got " + s3PricePerGiBMonth);
    }
    PageServer page = PageServer.start(bind, () -> ArchivePage.render(metrics, s3PricePerGiBMonth,
        System.currentTimeMillis()));
    dashboard = page;
    return page.endpoint();
  }

  /** Fragments moved off each nearly full holder per round: slow, so repair always comes first. */
  static final int REBALANCE_PER_ROUND = 8;

  public Repairer repairer() {
    return repairer;
  }

  public GarbageCollector collector() {
    return collector;
  }

  public Auditor auditor() {
    return auditor;
  }

  public CoordinatorMetrics metrics() {
    return metrics;
  }

  public PlacementService placements() {
    return placements;
  }

  public URI endpoint() {
    return server.endpoint();
  }

  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  @Override
  public void close() {
    PageServer page = dashboard;
    if (page != null) {
      page.close();
    }
    loops.shutdownNow();
    try {
      loops.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    guard.close();
  }
}
