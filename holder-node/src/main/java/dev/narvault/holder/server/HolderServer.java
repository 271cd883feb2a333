package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.http.NettyServer;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import dev.narvault.holder.store.Scrubber;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops a holder: identity, store, speed caps and monthly upload quota, the listening
 * socket, and the background work (scrub passes, trash purges, registration and heartbeats, saving
 * the month's upload count).
 */
public final class HolderServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HolderServer.class);
  static final String IDENTITY_FILE = "identity.key";
  /** The longest a trashed fragment waits past its time for a purge. */
  static final Duration MAX_PURGE_INTERVAL = Duration.ofHours(1);
  /** The nonces of accepted orders, until they expire (see {@link SeenNonces}). */
  static final String NONCES_FILE = "orders-seen.log";

  private final NettyServer server;
  private final FragmentStore store;
  private final String holderId;
  private final HolderMetrics metrics;
  private final Scrubber scrubber;
  private final ScheduledExecutorService background;

  private final java.util.concurrent.atomic.AtomicReference<HolderMessages.Standing> standing;
  private final Path dataDir;
  private final RecentProblems problems;
  private final InstantSource clock;
  private final long uploadCap;
  private final UploadQuota quota;
  private final BandwidthHistory bandwidth = new BandwidthHistory();
  private volatile long lastContactMillis;
  private volatile String lastContactError;
  private volatile dev.narvault.core.http.PageServer dashboard;

  private HolderServer(NettyServer server, FragmentStore store, String holderId, HolderMetrics metrics,
      Scrubber scrubber, ScheduledExecutorService background,
      java.util.concurrent.atomic.AtomicReference<HolderMessages.Standing> standing, Path dataDir,
      RecentProblems problems, InstantSource clock, long uploadCap, UploadQuota quota) {
    this.standing = standing;
    this.dataDir = dataDir;
    this.problems = problems;
    this.clock = clock;
    this.uploadCap = uploadCap;
    this.quota = quota;
    this.server = server;
    this.store = store;
    this.holderId = holderId;
    this.metrics = metrics;
    this.scrubber = scrubber;
    this.background = background;
  }

  public static HolderServer start(HolderConfig config) throws IOException {
    InstantSource clock = InstantSource.system();
    return start(config, DiskFragmentStore.open(config.dataDir(), config.capacityBytes(), clock, config.trashFor()),
        clock);
  }

  /**
   * Starts on an existing store and clock (tests wrap the store to inject faults); the store keeps
   * its own trash time, {@code config.trashFor()} only sets how often the trash is purged.
   */
  public static HolderServer start(HolderConfig config, FragmentStore store, InstantSource clock) throws IOException {
    NixSecretKey identity = loadOrCreateIdentity(config.dataDir());
    String holderId = HolderIdentity.holderId(identity.publicKey()).value();
    HolderMetrics metrics = new HolderMetrics();
    ScheduledExecutorService background = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "holder-background");
      t.setDaemon(true);
      return t;
    });
    UploadQuota quota;
    try {
      quota = UploadQuota.open(config.dataDir(), config.maxUploadBytesPerMonth(), clock, background);
    } catch (IOException e) {
      background.shutdownNow();
      throw e;
    }
    SeenNonces nonces = SeenNonces.journaled(config.dataDir().resolve(NONCES_FILE), clock.instant());
    // Named, so that thread dumps and CPU accounts (bench migrate) tell the holder's work apart.
    EventExecutorGroup blocking = new DefaultEventExecutorGroup(4,
        new io.netty.util.concurrent.DefaultThreadFactory("holder-protocol"));
    // The shaper's clock on a thread of its own: a long scrub pass must never stall transfers.
    boolean capped = config.maxUploadBytesPerSecond() > 0 || config.maxDownloadBytesPerSecond() > 0;
    ScheduledExecutorService shaperClock = capped ? Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "holder-shaper");
      t.setDaemon(true);
      return t;
    }) : null;
    GlobalTrafficShapingHandler shaper = capped
        ? new GlobalTrafficShapingHandler(shaperClock, config.maxUploadBytesPerSecond(),
            config.maxDownloadBytesPerSecond(), 100)
        : null;
    HolderServerHandler.Context context = new HolderServerHandler.Context(store, metrics, config.coordinatorKeys(),
        holderId, identity.publicKey(), new EndpointProver(identity, clock), clock.instant(), clock, nonces,
        config.maxUploadBytesPerSecond() == 0, new java.util.concurrent.atomic.AtomicReference<>(
            HolderMessages.Standing.unknown(holderId)), quota);
    HolderServerInitializer initializer = new HolderServerInitializer(context, blocking, shaper, config.limits());
    NettyServer server = NettyServer.start(config.bind(), config.limits(), initializer::initChannel, () -> {
      blocking.shutdownGracefully(250, 3000, TimeUnit.MILLISECONDS).syncUninterruptibly();
      try {
        nonces.close();
      } catch (IOException e) {
        LOG.warn("closing the order journal: {}", e.toString());
      }
      // After the last read: the month's count as it stands.
      quota.saveQuietly();
      if (shaper != null) {
        shaper.release();
        shaperClock.shutdownNow();
      }
    });
    CoordinatorClient coordinator = config.coordinator()
        .map(uri -> new CoordinatorClient(uri, identity, clock, Optional.ofNullable(config.bind().getAddress())))
        .orElse(null);
    RecentProblems problems = new RecentProblems();
    Scrubber scrubber = new Scrubber(store, config.scrubBytesPerSecond(), config.scrubInterval(), metrics.scrubbedBytes,
        id -> {
      metrics.corruptFound.increment();
      problems.add(clock.millis(), "scrub: fragment " + id + " no longer matches its id; quarantined and reported");
      if (coordinator != null) {
        coordinator.reportCorrupt(id);
      }
    });
    HolderServer holder = new HolderServer(server, store, holderId, metrics, scrubber, background, context.standing(),
        config.dataDir(), problems, clock, config.maxUploadBytesPerSecond(), quota);
    // The month's upload count, written down at least every minute (and every few MiB, by the quota itself).
    background.scheduleWithFixedDelay(quota::saveQuietly, 1, 1, TimeUnit.MINUTES);
    // Bytes served per hour and day, for the dashboard's charts.
    background.scheduleAtFixedRate(() -> holder.bandwidth.sample(clock.millis(), metrics.bytesServed.sum()), 0,
        1, TimeUnit.MINUTES);
    if (config.dashboard().isPresent()) {
      try {
        holder.dashboard = dev.narvault.core.http.PageServer.start(config.dashboard().get(), () -> DashboardPage.render(holder.view()));
      } catch (IOException e) {
        holder.close();
        throw new IOException("cannot start the dashboard on " + config.dashboard().get() + ": " + e.getMessage(), e);
      }
    }
    holder.advertised = config.advertise().orElse(server.endpoint());
    if (coordinator != null) {
      background.scheduleWithFixedDelay(() -> holder.keepInTouch(coordinator, config), 0,
          config.heartbeatInterval().toMillis(), TimeUnit.MILLISECONDS);
    }
    if (!config.scrubInterval().isZero()) {
      // A pass per interval (each paced to take most of it), not a pass and then an interval.
      background.scheduleAtFixedRate(holder::scrubPass, config.scrubInterval().toMillis(),
          config.scrubInterval().toMillis(), TimeUnit.MILLISECONDS);
    }
    if (!config.trashFor().isZero()) {
      // From the start, so a holder restarted often still purges.
      long every = Math.max(1000, Math.min(config.trashFor().toMillis(), MAX_PURGE_INTERVAL.toMillis()));
      background.scheduleWithFixedDelay(holder::trashPass, 0, every, TimeUnit.MILLISECONDS);
    }
    LOG.info("holder {} listening on {}, data in {}, capacity {} bytes, {} fragments stored", holderId, server.address(),
        config.dataDir(), config.capacityBytes(), store.fragmentCount());
    HolderMessages.QuotaUse month = quota.use();
    if (month.quotaBytes() > 0) {
      LOG.info("upload quota {} bytes a month; {} bytes served in {} (UTC)", month.quotaBytes(), month.servedBytes(),
          month.month());
    }
    return holder;
  }

  /** Refusals of "cannot reach you" in a row, before the first registration, that end the holder. */
  static final int UNREACHABLE_REFUSALS_BEFORE_EXIT = 3;

  private boolean registered;
  private boolean everRegistered;
  private int unreachableRefusals;
  private volatile URI advertised;
  private volatile String failure;
  private boolean closed;

  /**
   * The URL this holder advertises: {@code --advertise} if given; else, bound to a specific
   * address, that address; else (bound to a wildcard such as 0.0.0.0, where the bound address
   * says nothing others can use) the address the coordinator sees this holder's requests come
   * from, at the bound port.
   */
  static URI advertisedEndpoint(HolderConfig config, InetSocketAddress bound, SeenAddress seen) throws IOException {
    if (config.advertise().isPresent()) {
      return config.advertise().get();
    }
    if (!bound.getAddress().isAnyLocalAddress()) {
      String host = bound.getAddress().getHostAddress();
      return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + bound.getPort());
    }
    String host = seen.get();
    return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + bound.getPort());
  }

  /** Asks the coordinator which address it sees this holder at. */
  @FunctionalInterface
  interface SeenAddress {
    String get() throws IOException;
  }

  private void contactFailed(String why) {
    lastContactError = why;
    problems.add(clock.millis(), "coordinator: " + why);
  }

  /** What the dashboard shows, now. */
  DashboardPage.View view() {
    long now = clock.millis();
    bandwidth.sample(now, metrics.bytesServed.sum());
    return new DashboardPage.View(holderId, String.valueOf(advertised), store.capacityBytes(), store.usedBytes(),
        store.fragmentCount(), store.trashBytes(),
        metrics.bytesServed.sum(), uploadCap, quota.use(), metrics.quotaRefusals.sum(), bandwidth.lastHours(now),
        bandwidth.lastDays(now), standing.get(),
        metrics.scrubPasses.sum(), metrics.scrubbedBytes.sum(), metrics.corruptFound.sum(), lastContactMillis,
        lastContactError, problems.list(), now);
  }

  /** Where the volunteer's dashboard answers, when it runs. */
  public Optional<URI> dashboardEndpoint() {
    dev.narvault.core.http.PageServer d = dashboard;
    return d == null ? Optional.empty() : Optional.of(d.endpoint());
  }

  /** The file in the data directory where the last standing the coordinator told is kept. */
  public static final String STANDING_FILE = "standing.json";

  /** Keeps what the coordinator answered a heartbeat with (its standing), and writes it down. */
  private void told(String answer) {
    if (!answer.startsWith("{")) {
      return; // an older coordinator: "ok <id>"
    }
    try {
      HolderMessages.Standing now = dev.narvault.core.json.JsonCodec.parseTolerant(
          answer.getBytes(java.nio.charset.StandardCharsets.UTF_8), HolderMessages.Standing.class);
      if (!now.holderId().equals(holderId)) {
        LOG.warn("the coordinator answered with the standing of {}, not of this holder; ignored", now.holderId());
        return;
      }
      HolderMessages.Standing before = standing.getAndSet(now);
      if (!before.warnings().equals(now.warnings()) || !before.state().equals(now.state())) {
        LOG.info("standing: {}{}", now.state(), now.warnings().isEmpty() ? "" : "; " + String.join("; ", now.warnings()));
      }
      Path temp = dataDir.resolve(STANDING_FILE + ".tmp");
      Files.write(temp, dev.narvault.core.json.JsonCodec.toJson(now));
      Files.move(temp, dataDir.resolve(STANDING_FILE), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IllegalArgumentException e) {
      LOG.warn("the coordinator's answer to a heartbeat is not a standing: {}", e.getMessage());
    } catch (IOException e) {
      LOG.debug("could not write {}: {}", STANDING_FILE, e.toString());
    }
  }

  /** The standing the coordinator last told the holder whose data directory this is, if any. */
  public static Optional<HolderMessages.Standing> lastStanding(Path dataDir) throws IOException {
    Path file = dataDir.resolve(STANDING_FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(dev.narvault.core.json.JsonCodec.parseTolerant(Files.readAllBytes(file),
          HolderMessages.Standing.class));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + " is not a standing: " + e.getMessage(), e);
    }
  }

  /** The standing the coordinator last told this holder ({@link HolderMessages.Standing#unknown} before). */
  public HolderMessages.Standing standing() {
    return standing.get();
  }

  /** Why the holder stopped by itself (the coordinator refused it for good), if it did. */
  public java.util.Optional<String> failure() {
    return java.util.Optional.ofNullable(failure);
  }

  /** The URL this holder advertises to the coordinator (see {@link #advertisedEndpoint}). */
  public URI advertised() {
    return advertised;
  }

  private void keepInTouch(CoordinatorClient coordinator, HolderConfig config) {
    try {
      if (!registered) {
        if (!everRegistered && config.advertise().isEmpty() && server.address().getAddress().isAnyLocalAddress()) {
          advertised = advertisedEndpoint(config, server.address(), coordinator::seenAddress);
          LOG.info("bound to {}: advertising {}, the address the coordinator sees", server.address(), advertised);
        }
        String answer = coordinator.register(advertised, store, HolderServerHandler.version(), config.operator(),
            config.location());
        registered = true;
        everRegistered = true;
        // The coordinator says at which address it reached this endpoint: the address that places
        // this holder in its failure domains.
        LOG.info("registered with the coordinator: {}", answer);
      } else {
        told(coordinator.heartbeat(store, HolderServerHandler.version()));
      }
      lastContactMillis = clock.millis();
      coordinator.flushReports();
    } catch (CoordinatorRefusedException e) {
      registered = false;
      if (!everRegistered && refusedForGood(e)) {
        return;
      }
      LOG.warn("the coordinator refused, will retry: {}", e.getMessage());
      contactFailed(e.getMessage());
    } catch (IOException e) {
      // Either way round: the coordinator cannot be reached, or (a 503) it cannot reach this holder.
      LOG.warn("contact with the coordinator failed, will retry: {}", e.getMessage() == null ? e.toString()
          : e.getMessage());
      contactFailed(e.getMessage() == null ? e.toString() : e.getMessage());
      registered = false;
    } catch (RuntimeException | Error e) {
      // Never let the scheduler drop this task: a holder that stops heartbeating looks dead.
      LOG.error("heartbeat failed, will retry: {}", e.toString(), e);
    }
  }

  /**
   * Before its first registration, a holder the coordinator refuses for good stops, saying why,
   * instead of retrying forever: a 400 (its endpoint is not acceptable: a loopback or private
   * address, a name that does not resolve) at once, a 503 (the coordinator cannot reach it) after
   * {@link #UNREACHABLE_REFUSALS_BEFORE_EXIT} in a row. Once registered, it retries whatever happens.
   */
  private boolean refusedForGood(CoordinatorRefusedException e) {
    boolean unusable = e.status() == 400 || e.status() == 401 || e.status() == 403;
    boolean unreachable = e.status() == 503 && ++unreachableRefusals >= UNREACHABLE_REFUSALS_BEFORE_EXIT;
    if (!unusable && !unreachable) {
      return false;
    }
    failure = "the coordinator refused to register this holder at " + advertised + ": " + e.reason()
        + (unreachable ? " (" + UNREACHABLE_REFUSALS_BEFORE_EXIT + " times in a row)" : "")
        + ". Give a URL the coordinator can connect back to with --advertise (a public address, port open), "
        + "or --bind a public address.";
    LOG.error("{}; stopping", failure);
    Thread.ofPlatform().daemon().start(this::close);
    return true;
  }

  private void scrubPass() {
    try {
      scrubOnce();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException | Error e) {
      // Never let the scheduler drop this task: an unscrubbed holder serves rot until audited.
      LOG.error("scrub pass failed, will run again: {}", e.toString(), e);
    }
  }

  private void trashPass() {
    try {
      purgeTrashOnce();
    } catch (IOException | RuntimeException | Error e) {
      // Never let the scheduler drop this task: the trash would keep what it should let go.
      LOG.error("trash purge failed, will run again: {}", e.toString(), e);
    }
  }

  /** Deletes the trashed fragments whose time is up now; returns how many. */
  public int purgeTrashOnce() throws IOException {
    int purged = store.purgeTrash();
    if (purged > 0) {
      LOG.info("deleted {} fragments from the trash: their time was up", purged);
    }
    return purged;
  }

  /** Runs one scrub pass now; returns the number of fragments quarantined. */
  public int scrubOnce() throws InterruptedException {
    int corrupt = scrubber.scrubOnce();
    metrics.scrubPasses.increment();
    return corrupt;
  }

  /**
   * Tells the coordinator that the holder with this data directory is leaving: repair moves its
   * fragments elsewhere. Returns the coordinator's answer, which counts the fragments still to
   * move; once it says 0 the holder may stop for good. Safe to repeat.
   */
  public static String announceExit(Path dataDir, URI coordinator, InstantSource clock) throws IOException {
    return sendFromDataDir(dataDir, coordinator, clock, CoordinatorClient::exit);
  }

  /**
   * Declares, signed with the key in {@code dataDir}, that the holder will be away until
   * {@code untilMillis} (not after now: it is back), and returns the standing the coordinator
   * answers with, which it also keeps as the holder's last standing.
   *
   * @throws CoordinatorRefusedException when the coordinator refuses the absence (409, its reason)
   */
  public static HolderMessages.Standing announceAway(Path dataDir, URI coordinator, InstantSource clock,
      long untilMillis) throws IOException {
    String answer = sendFromDataDir(dataDir, coordinator, clock, c -> c.away(untilMillis));
    HolderMessages.Standing standing;
    try {
      standing = dev.narvault.core.json.JsonCodec.parseTolerant(answer.getBytes(java.nio.charset.StandardCharsets.UTF_8),
          HolderMessages.Standing.class);
    } catch (IllegalArgumentException e) {
      throw new IOException("the coordinator's answer is not a standing: " + e.getMessage(), e);
    }
    Path temp = dataDir.resolve(STANDING_FILE + ".away.tmp");
    Files.write(temp, dev.narvault.core.json.JsonCodec.toJson(standing));
    Files.move(temp, dataDir.resolve(STANDING_FILE), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    return standing;
  }

  /** One signed message of the holder whose data directory this is, sent by a command beside the running holder. */
  private interface Send {
    String to(CoordinatorClient client) throws IOException;
  }

  private static String sendFromDataDir(Path dataDir, URI coordinator, InstantSource clock, Send send)
      throws IOException {
    if (!Files.exists(dataDir.resolve(IDENTITY_FILE))) {
      throw new IOException("no holder identity in " + dataDir + " (" + IDENTITY_FILE + " is missing)");
    }
    CoordinatorClient client = new CoordinatorClient(coordinator, loadOrCreateIdentity(dataDir), clock, Optional.empty());
    for (int attempt = 1; ; attempt++) {
      try {
        return send.to(client);
      } catch (CoordinatorRefusedException e) {
        // The running holder stamped a heartbeat at this very millisecond or later (its stamps may
        // run a little ahead): a fresh stamp in a moment is newer.
        if (e.status() != 409 || attempt == 3) {
          throw e;
        }
        try {
          Thread.sleep(50L * attempt);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted", interrupted);
        }
      }
    }
  }

  /** Loads the holder's Ed25519 identity from its data directory, creating it (mode 0600) on first start. */
  static NixSecretKey loadOrCreateIdentity(Path dataDir) throws IOException {
    Files.createDirectories(dataDir);
    Path file = dataDir.resolve(IDENTITY_FILE);
    if (Files.exists(file)) {
      return NixSecretKey.parse(Files.readString(file));
    }
    NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
    Path tmp = Files.createTempFile(dataDir, ".identity", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, key.toFileContents() + "\n");
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    return key;
  }

  public String holderId() {
    return holderId;
  }

  public InetSocketAddress address() {
    return server.address();
  }

  /** The URL clients use, e.g. {@code http://127.0.0.1:7001}. */
  public URI endpoint() {
    return server.endpoint();
  }

  /** Connections open now (for tests and metrics). */
  public int openConnections() {
    return server.openConnections();
  }

  public FragmentStore store() {
    return store;
  }

  public HolderMetrics metrics() {
    return metrics;
  }

  /** Blocks until the server stops. */
  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  /** Stops accepting, closes connections (cutting transfers in flight), stops the threads. */
  @Override
  public synchronized void close() {
    // Once: a holder refused for good closes itself while its owner may be closing it too.
    if (closed) {
      return;
    }
    closed = true;
    background.shutdownNow();
    dev.narvault.core.http.PageServer d = dashboard;
    if (d != null) {
      d.close();
    }
    server.close();
    LOG.info("holder on {} stopped", address());
  }
}
