package dev.narvault.cli.e2e;

import dev.narvault.core.access.AccessRecorder;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.core.archive.Archive;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A whole narvault on loopback for one test: S3Proxy, a SQLite catalog, a coordinator, holders
 * (holder i on 127.(i+1).0.1, its own /16, registered with the coordinator), and (after
 * {@link #migrate}) a gateway. Everything real; {@link #close()} stops it all. The coordinator's
 * loops are off: tests run repair, collection and audit rounds themselves.
 */
final class Cluster implements AutoCloseable {
  static final Duration HEARTBEAT = Duration.ofMillis(200);

  final Path dir;
  final EmbeddedS3 s3;
  final S3ObjectSource objects;
  final List<HolderServer> holders = new ArrayList<>();
  final List<Boolean> up = new ArrayList<>();
  /** Each holder's store, wrapped so tests can make it lie or go slow. */
  final List<FaultyStore> stores = new ArrayList<>();
  private final List<String> operators = new ArrayList<>();
  Catalog catalog;
  String catalogUrl;
  /** Signs the manifests of the packs {@link #migrate} makes; a test may rotate it. */
  NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
  final NixSecretKey coordinatorKey = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  final NixSecretKey workerKey = NixSecretKey.generate("test-worker-1", new SecureRandom());
  Coordinator coordinator;
  /**
   * How far ahead of the system clock the coordinator's clock runs: a test moves it on to see
   * what the coordinator does an hour later, without waiting an hour.
   */
  final AtomicLong coordinatorAheadMillis = new AtomicLong();
  private final InstantSource coordinatorClock =
      () -> Instant.now().plusMillis(coordinatorAheadMillis.get());
  private final CoordinatorConfig coordinatorConfig;
  GatewayServer gateway;

  Cluster(Path dir, int holderCount) throws IOException {
    this(dir, holderCount, Duration.ofHours(1));
  }

  /** @param offlineAfter the coordinator's liveness rule */
  Cluster(Path dir, int holderCount, Duration offlineAfter) throws IOException {
    this(dir, holderCount, offlineAfter, "jdbc:sqlite:" + dir.resolve("catalog.db"));
  }

  /** @param catalogUrl the catalog (SQLite by default; tests of several workers use PostgreSQL when there is one) */
  Cluster(Path dir, int holderCount, Duration offlineAfter, String catalogUrl) throws IOException {
    this.dir = dir;
    this.catalogUrl = catalogUrl;
    this.s3 = EmbeddedS3.start(dir.resolve("s3"), "cache");
    this.objects = new S3ObjectSource(s3.config());
    this.catalog = Catalog.open(catalogUrl);
    this.coordinatorConfig = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey,
        List.of(workerKey.publicKey()), Optional.of(TrustedKeys.of(archiveKey.publicKey())),
        new HolderRules(offlineAfter, Duration.ZERO), -1, Duration.ZERO, Duration.ZERO, 0, Duration.ofMinutes(5),
        dir.resolve("repair-work")).allowingPrivateHolders();
    this.coordinator = Coordinator.start(coordinatorConfig, catalog, coordinatorClock, Optional.of(objects));
    for (int i = 0; i < holderCount; i++) {
      addHolder("127." + (i + 1) + ".0.1", "");
    }
    awaitRegistered();
  }

  /** Starts one more holder on {@code address} (its own data directory), registered with the coordinator. */
  HolderServer addHolder(String address, String operator) throws IOException {
    int i = holders.size();
    stores.add(null);
    operators.add(operator);
    HolderServer h = start(i, address, operator);
    holders.add(h);
    up.add(true);
    return h;
  }

  private HolderServer start(int i, String address, String operator) throws IOException {
    HolderConfig config = holderConfig(i, address, operator);
    FaultyStore store = new FaultyStore(DiskFragmentStore.open(config.dataDir(), config.capacityBytes()),
        dir.resolve("scratch-" + i));
    stores.set(i, store);
    return HolderServer.start(config, store, InstantSource.system());
  }

  /** Capacities other than 1 GiB, by holder index, applied when a holder (re)starts. */
  final Map<Integer, Long> capacities = new HashMap<>();

  HolderConfig holderConfig(int i, String address, String operator) {
    return HolderConfig.of(new InetSocketAddress(address, 0), dir.resolve("holder-" + i),
            capacities.getOrDefault(i, 1L << 30), coordinatorKey.publicKey())
        .withCoordinator(coordinator.endpoint()).withHeartbeat(HEARTBEAT)
        .withDescription(Optional.empty(), operator, "");
  }

  /** Stops the coordinator; {@link #startCoordinatorAgain} brings it back on the same port. */
  void stopCoordinator() {
    coordinator.close();
  }

  void startCoordinatorAgain() throws IOException {
    startCoordinatorAgain(coordinatorConfig.archiveKeys());
  }

  /** Brings the coordinator back on the same port, checking manifests with {@code archiveKeys}. */
  void startCoordinatorAgain(Optional<TrustedKeys> archiveKeys) throws IOException {
    int port = coordinator.endpoint().getPort();
    coordinator = Coordinator.start(new CoordinatorConfig(new InetSocketAddress("127.0.0.1", port),
        coordinatorConfig.coordinatorKey(), coordinatorConfig.workerKeys(), archiveKeys,
        coordinatorConfig.rules(), -1, Duration.ZERO, Duration.ZERO, 0, coordinatorConfig.maxSkew(),
        coordinatorConfig.workDir()).allowingPrivateHolders().withLimits(coordinatorConfig.limits()), catalog,
        coordinatorClock, Optional.of(objects));
  }

  /**
   * The disaster: the catalog is lost (its files deleted). The coordinator restarts, on the same
   * port, on a new empty catalog; holders register again with their next heartbeat.
   */
  void loseCatalog() throws IOException {
    stopCoordinator();
    catalog.close();
    for (String suffix : List.of("", "-wal", "-shm")) {
      Files.deleteIfExists(dir.resolve("catalog.db" + suffix));
    }
    catalogUrl = "jdbc:sqlite:" + dir.resolve("catalog-new.db");
    catalog = Catalog.open(catalogUrl);
    startCoordinatorAgain();
  }

  /** Restarts stopped holder {@code i} on its old address (a new port), with its data. */
  void restartHolder(int i) throws IOException {
    if (up.get(i)) {
      return;
    }
    String address = holders.get(i).address().getAddress().getHostAddress();
    holders.set(i, start(i, address, operators.get(i)));
    up.set(i, true);
  }

  /** Waits until every running holder's registration (with its current endpoint) is in the catalog. */
  void awaitRegistered() throws IOException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (true) {
      boolean all = true;
      for (int i = 0; i < holders.size(); i++) {
        if (!up.get(i)) {
          continue;
        }
        HolderServer h = holders.get(i);
        all &= catalog.holder(new HolderId(h.holderId())).map(r -> r.endpoint().equals(h.endpoint().toString())).orElse(false);
      }
      if (all) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("holders did not register within 20 s");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
  }

  /** The index (in {@link #holders}) of the holder the catalog has storing fragment {@code index} of a pack. */
  int holderOf(PackId packId, int index) throws IOException {
    String id = catalog.placements(packId).stream().filter(p -> p.fragmentIndex() == index && p.stored())
        .findFirst().orElseThrow().holderId().value();
    for (int i = 0; i < holders.size(); i++) {
      if (holders.get(i).holderId().equals(id)) {
        return i;
      }
    }
    throw new IllegalStateException("no holder " + id);
  }

  /** Uploads every file of a file:// binary cache into the bucket, keys relative to its root. */
  void upload(Path cacheDir) throws IOException {
    try (Stream<Path> files = Files.walk(cacheDir)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        String key = cacheDir.relativize(f).toString();
        objects.put(key, f, key.endsWith(".narinfo") ? "text/x-nix-narinfo" : "application/octet-stream");
      }
    }
  }

  MigrationSummary migrate(NixPublicKey trusted, int k, int m) throws IOException {
    return migrate(trusted, k, m, 0);
  }

  MigrationSummary migrate(NixPublicKey trusted, int k, int m, int limit) throws IOException {
    return migrate(trusted, k, m, limit, 64L << 20);
  }

  /** Migrates with a target pack size (small packs spread NARs over many packs and holders). */
  MigrationSummary migrate(NixPublicKey trusted, int k, int m, int limit, long packSize) throws IOException {
    return migrate(new MigrateConfig(TrustedKeys.of(trusted), k, m, packSize, PackLayout.DEFAULT_BLOCK_SIZE,
        Codecs.defaultKind(), dir.resolve("work"), limit));
  }

  /** Migrates selected NARs and drains as told. */
  MigrationSummary migrate(NixPublicKey trusted, int k, int m, ColdSelection selection, DrainConfig drain)
      throws IOException {
    return migrate(new MigrateConfig(TrustedKeys.of(trusted), k, m, 64L << 20, PackLayout.DEFAULT_BLOCK_SIZE,
        Codecs.defaultKind(), dir.resolve("work"), 0).with(selection, drain));
  }

  MigrationSummary migrate(MigrateConfig config) throws IOException {
    return migrate(config, catalog);
  }

  /** A migration through its own catalog connection (a second worker). */
  MigrationSummary migrate(MigrateConfig config, Catalog through) throws IOException {
    return migrate(config, through, objects);
  }

  /** A migration through its own catalog connection, reading the bucket through {@code source}. */
  MigrationSummary migrate(MigrateConfig config, Catalog through, ObjectSource source) throws IOException {
    return new Migration(config, source, through, new HolderClient(Duration.ofSeconds(10)), archiveKey,
        new PlacementClient(coordinator.endpoint(), workerKey, InstantSource.system()),
        new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC()).run();
  }

  /** How many packs hold each S3 object (by key), over every pack in the catalog. */
  Map<String, Integer> packsPerObject() throws IOException {
    ManifestCache manifests = new ManifestCache(catalog, Optional.empty(), 1000);
    Map<String, Integer> packsPerObject = new HashMap<>();
    String last = "";
    List<PackId> page;
    while (!(page = catalog.custody().packIds(last, 100)).isEmpty()) {
      for (PackId packId : page) {
        Set<String> keys = new LinkedHashSet<>();
        for (Manifest.Nar nar : manifests.get(packId).nars()) {
          keys.add(nar.key());
        }
        keys.forEach(k -> packsPerObject.merge(k, 1, Integer::sum));
      }
      last = page.getLast().hex();
    }
    return packsPerObject;
  }

  /** The archive key readers trust: the one {@link #migrate} signs with. */
  TrustedKeys trustedArchiveKeys() {
    return TrustedKeys.of(archiveKey.publicKey());
  }

  /** The gateway's access records, written when a test flushes them (or the gateway closes). */
  AccessRecorder gatewayAccess;

  URI startGateway() throws IOException {
    gatewayAccess = AccessRecorder.manual(catalog.access(), InstantSource.system(), AccessRecorder.DEFAULT_MAX_PENDING);
    gateway = GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50),
        new Archive(catalog, new HolderClient(Duration.ofSeconds(5)), Optional.of(TrustedKeys.of(archiveKey.publicKey())),
            objects), objects, Optional.of(gatewayAccess));
    return gateway.endpoint();
  }

  /** The store hash of some NAR the catalog has archived. */
  String firstArchived() throws IOException {
    List<String> keys = new ArrayList<>();
    objects.list("", o -> {
      if (o.key().endsWith(".narinfo")) {
        keys.add(o.key().substring(0, 32));
      }
    });
    for (String k : keys) {
      if (catalog.isArchived(k)) {
        return k;
      }
    }
    throw new IllegalStateException("nothing archived");
  }

  void stopHolder(int i) {
    if (up.get(i)) {
      holders.get(i).close();
      up.set(i, false);
    }
  }

  /** Flips every byte of a fragment file on holder {@code i}'s disk, as silent rot would. */
  void rot(int holder, String id) throws IOException {
    Path file = fragmentFile(holder, id);
    byte[] bytes = Files.readAllBytes(file);
    for (int b = 0; b < bytes.length; b++) {
      bytes[b] = (byte) ~bytes[b];
    }
    Files.write(file, bytes);
  }

  /** The directory where holder {@code i} keeps fragment {@code id}. */
  Path fragmentFile(int holder, String id) {
    return dir.resolve("holder-" + holder).resolve("fragments").resolve(id.substring(0, 2))
        .resolve(id.substring(2, 4)).resolve(id);
  }

  @Override
  public void close() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    for (int i = 0; i < holders.size(); i++) {
      stopHolder(i);
    }
    coordinator.close();
    catalog.close();
    objects.close();
    s3.close();
  }
}
