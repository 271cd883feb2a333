package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.FragmentFiles;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.repair.policy.HolderRules;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.function.UnaryOperator;

/**
 * A coordinator and real holders on loopback for one test, all on one {@link FakeClock}.
 *
 * <p>The coordinator is started as in production ({@link Coordinator#start}) with its loops off:
 * tests run repair, collection and audit rounds themselves. Holder {@code i} listens on
 * {@code 127.(i+1).0.1}, its own /16, on a real {@link DiskFragmentStore} wrapped in an
 * {@link ObservedStore}. Holders do not heartbeat on their own (that would take real time): the
 * fixture speaks for them, signing with each holder's identity key and posting to the
 * coordinator's HTTP API, so every registration and heartbeat is answered (and every endpoint
 * proven) before the call returns — no waiting for background registration.
 *
 * <p>Time passes only in {@link #elapse}: in steps of a quarter of {@code --offline-after}, every
 * holder not {@linkplain #silence silenced} heartbeating at each step, as a running holder does.
 *
 * <p>With several coordinators ({@link #CoordinatorFixture(Path, int, int, String, Duration)})
 * each has a catalog of its own (its own connections) on one database, its own work directory
 * and owner name, as separate processes would; the test reads the database through a catalog of
 * its own. Holders register and heartbeat with the first coordinator still running.
 */
final class CoordinatorFixture implements AutoCloseable {
  static final int DATA = 4;
  static final int PARITY = 2;
  static final int TOTAL = DATA + PARITY;
  static final int BLOCK_SIZE = 4096;
  /** Repair every pack that is not whole, so that one lost holder is enough to make a round do work. */
  static final int REPAIR_THRESHOLD = PARITY;
  static final Duration OFFLINE_AFTER = Duration.ofMinutes(10);

  final FakeClock clock = new FakeClock(Instant.parse("2030-01-01T00:00:00Z"));
  /** This fixture's code: {@link #DATA} + {@link #PARITY} unless a test asks for another. */
  final int data;
  final int parity;
  final int total;
  final Path dir;
  final HolderRules rules;
  final Catalog catalog;
  final Coordinator coordinator;
  /** Every coordinator, {@link #coordinator} first, and the catalog each works on. */
  final List<Coordinator> coordinators = new ArrayList<>();
  final List<Catalog> catalogs = new ArrayList<>();
  private final Set<Integer> killed = new HashSet<>();
  final NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
  final NixSecretKey coordinatorKey = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  final List<Holder> holders = new ArrayList<>();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final HolderClient holderClient = new HolderClient(Duration.ofSeconds(10));

  /** A running holder, as the test sees it. */
  static final class Holder {
    final int number;
    final HolderServer server;
    final ObservedStore store;
    final NixSecretKey identity;
    /** Where it registered: its own address, or its reverse proxy's. */
    final URI endpoint;
    final Optional<ReverseProxy> proxy;
    private boolean silent;
    private boolean stopped;
    private long lastMillis;

    private Holder(int number, HolderServer server, ObservedStore store, NixSecretKey identity,
        Optional<ReverseProxy> proxy) {
      this.number = number;
      this.server = server;
      this.store = store;
      this.identity = identity;
      this.proxy = proxy;
      this.endpoint = proxy.map(ReverseProxy::endpoint).orElse(server.endpoint());
    }

    HolderId id() {
      return new HolderId(server.holderId());
    }

    boolean has(String fragmentId) throws IOException {
      return store.contains(new FragmentId(fragmentId));
    }

    /** Strictly increasing message timestamps, as a real holder sends them. */
    private long timestamp(long now) {
      lastMillis = Math.max(lastMillis + 1, now);
      return lastMillis;
    }

    @Override
    public String toString() {
      return "holder " + number + " (" + id() + ")";
    }
  }

  /** A pack placed on holders: its id and manifest. */
  record Pack(PackId id, Manifest manifest) {
    String fragmentId(int index) {
      return manifest.fragments().get(index).id().hex();
    }
  }

  CoordinatorFixture(Path dir, int holderCount) throws IOException {
    this(dir, holderCount, OFFLINE_AFTER);
  }

  CoordinatorFixture(Path dir, int holderCount, Duration offlineAfter) throws IOException {
    this(dir, holderCount, new HolderRules(offlineAfter, Duration.ZERO));
  }

  CoordinatorFixture(Path dir, int holderCount, HolderRules rules) throws IOException {
    this(dir, holderCount, rules, DATA, PARITY);
  }

  /** With the code RS({@code data},{@code parity}), repairing every pack that is not whole (threshold m). */
  CoordinatorFixture(Path dir, int holderCount, HolderRules rules, int data, int parity) throws IOException {
    this.data = data;
    this.parity = parity;
    this.total = data + parity;
    this.dir = Files.createDirectories(dir);
    this.rules = rules;
    this.catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey, List.of(),
        Optional.of(TrustedKeys.of(archiveKey.publicKey())), rules, parity, Duration.ZERO, Duration.ZERO, 0,
        Duration.ofMinutes(5), dir.resolve("repair-work")).allowingPrivateHolders();
    this.coordinator = Coordinator.start(config, catalog, clock);
    coordinators.add(coordinator);
    catalogs.add(catalog);
    for (int i = 0; i < holderCount; i++) {
      addHolder();
    }
  }

  /**
   * {@code coordinatorCount} coordinators on the catalog at {@code catalogUrl}, with the code
   * RS({@link #DATA},{@link #PARITY}), repairing every pack that is not whole. Their repair and
   * audit intervals are {@code interval} (which decides when shared work is next due); their
   * loops would first run one interval of real time after start, so tests run every round.
   */
  CoordinatorFixture(Path dir, int holderCount, int coordinatorCount, String catalogUrl, Duration interval)
      throws IOException {
    this.data = DATA;
    this.parity = PARITY;
    this.total = DATA + PARITY;
    this.dir = Files.createDirectories(dir);
    this.rules = new HolderRules(OFFLINE_AFTER, Duration.ZERO);
    this.catalog = Catalog.open(catalogUrl);
    for (int i = 0; i < coordinatorCount; i++) {
      CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress("127.0.0.1", 0), coordinatorKey,
          List.of(), Optional.of(TrustedKeys.of(archiveKey.publicKey())), rules, parity, interval, interval, 0,
          Duration.ofMinutes(5), dir.resolve("repair-work-" + i)).allowingPrivateHolders().withOwner("coordinator-" + i);
      Catalog own = Catalog.open(catalogUrl);
      catalogs.add(own);
      coordinators.add(Coordinator.start(config, own, clock));
    }
    this.coordinator = coordinators.getFirst();
    for (int i = 0; i < holderCount; i++) {
      addHolder();
    }
  }

  /**
   * A fresh catalog for coordinators to share: a schema of its own on PostgreSQL when
   * {@code backend} names a server, else a SQLite file in {@code dir}.
   */
  static String catalogUrl(String backend, Path dir) throws IOException {
    if (backend.equals("sqlite")) {
      return "jdbc:sqlite:" + dir.resolve("catalog-" + java.util.UUID.randomUUID() + ".db");
    }
    String schema = "c" + java.util.UUID.randomUUID().toString().replace("-", "");
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(backend);
        java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    } catch (java.sql.SQLException e) {
      throw new IOException(e);
    }
    return backend + (backend.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  /** SQLite always; PostgreSQL too when {@code NARVAULT_TEST_POSTGRES_URL} names a server ({@code .ci/run} starts one). */
  static java.util.stream.Stream<String> backends() {
    String pg = System.getenv("NARVAULT_TEST_POSTGRES_URL");
    return pg == null || pg.isBlank() ? java.util.stream.Stream.of("sqlite") : java.util.stream.Stream.of("sqlite", pg);
  }

  /**
   * Coordinator {@code i} dies: it stops serving and its catalog is closed under it, so it can
   * neither renew nor release what it holds (its claims and leases stay until they expire), as
   * after {@code kill -9}. A round it is in the middle of fails at its next catalog call.
   */
  void kill(int i) {
    killed.add(i);
    coordinators.get(i).close();
    catalogs.get(i).close();
  }

  /** The first coordinator still running: the one holders talk to. */
  private Coordinator front() {
    for (int i = 0; i < coordinators.size(); i++) {
      if (!killed.contains(i)) {
        return coordinators.get(i);
      }
    }
    throw new IllegalStateException("every coordinator was killed");
  }

  /** Starts one more holder and registers it; fails unless the coordinator accepts it. */
  Holder addHolder() throws IOException {
    return addHolder(UnaryOperator.identity());
  }

  /** As {@link #addHolder()}, the holder's configuration changed by {@code configure} (a quota, say). */
  Holder addHolder(UnaryOperator<HolderConfig> configure) throws IOException {
    Holder h = startHolder(false, configure);
    expect(200, register(h.identity, h.endpoint), "registration of " + h);
    return h;
  }

  /** Starts one more holder behind a {@link ReverseProxy} (on the holder's address) and registers the proxy. */
  Holder addHolderBehindProxy() throws IOException {
    Holder h = startHolder(true);
    expect(200, register(h.identity, h.endpoint), "registration of " + h);
    return h;
  }

  /** Starts one more holder without registering it. */
  Holder startHolder(boolean proxied) throws IOException {
    return startHolder(proxied, UnaryOperator.identity());
  }

  private Holder startHolder(boolean proxied, UnaryOperator<HolderConfig> configure) throws IOException {
    int number = holders.size();
    InetAddress address = InetAddress.getByName("127." + (number + 1) + ".0.1");
    HolderConfig config = configure.apply(HolderConfig.of(new InetSocketAddress(address, 0),
        dir.resolve("holder-" + number), 1L << 30, coordinatorKey.publicKey()));
    ObservedStore store = new ObservedStore(DiskFragmentStore.open(config.dataDir(), config.capacityBytes(), clock,
        config.trashFor()));
    HolderServer server = HolderServer.start(config, store, clock);
    NixSecretKey identity = NixSecretKey.parse(Files.readString(config.dataDir().resolve("identity.key")));
    Optional<ReverseProxy> proxy = proxied
        ? Optional.of(ReverseProxy.start(address, server.address())) : Optional.empty();
    Holder h = new Holder(number, server, store, identity, proxy);
    holders.add(h);
    return h;
  }

  /** Posts a signed registration of {@code key}'s holder at {@code endpoint}; returns the status. */
  int register(NixSecretKey key, URI endpoint) throws IOException {
    Holder h = holders.stream().filter(x -> x.identity.equals(key)).findFirst().orElse(null);
    long ts = h == null ? clock.millis() : h.timestamp(clock.millis());
    return post("/v1/register", JsonCodec.toJson(new HolderMessages.Registration(HolderMessages.Registration.TYPE,
        HolderIdentity.holderId(key.publicKey()).value(), ts, key.publicKey().toString(), endpoint.toString(), 1L << 30,
        h == null ? 0 : h.store.usedBytes(), h == null ? 0 : h.store.fragmentCount(), "test", "", "")), key);
  }

  /** Posts a signed heartbeat from {@code h}, whether or not it is running; returns the status. */
  int heartbeat(Holder h) throws IOException {
    return post("/v1/heartbeat", JsonCodec.toJson(new HolderMessages.Heartbeat(HolderMessages.Heartbeat.TYPE, h.id().value(),
        h.timestamp(clock.millis()), h.store.usedBytes(), h.store.fragmentCount(), "test")), h.identity);
  }

  /** Posts {@code h}'s signed exit announcement; returns the status. */
  int exit(Holder h) throws IOException {
    return post("/v1/exit", JsonCodec.toJson(new HolderMessages.Exit(HolderMessages.Exit.TYPE, h.id().value(),
        h.timestamp(clock.millis()))), h.identity);
  }

  /** Posts {@code h}'s signed absence until {@code untilMillis}, signed with {@code signer}; returns the status. */
  int away(Holder h, long untilMillis, NixSecretKey signer) throws IOException {
    byte[] body = JsonCodec.toJson(new HolderMessages.Away(HolderMessages.Away.TYPE, h.id().value(),
        h.timestamp(clock.millis()), untilMillis));
    awaySent.add(body);
    return post("/v1/away", body, signer);
  }

  /** Every absence message posted, in order, as sent: a test may replay one. */
  final List<byte[]> awaySent = new ArrayList<>();

  /** Posts {@code body} again to {@code /v1/away}, signed by {@code h}: a replay. */
  int replayAway(Holder h, byte[] body) throws IOException {
    return post("/v1/away", body, h.identity);
  }

  /** Posts {@code h}'s signed absence until {@code untilMillis}; returns the status. */
  int away(Holder h, long untilMillis) throws IOException {
    return away(h, untilMillis, h.identity);
  }

  private int post(String path, byte[] body, NixSecretKey key) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(front().endpoint() + path))
        .timeout(Duration.ofSeconds(20)).header(SignedMessages.HEADER, SignedMessages.sign(body, key))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  private static void expect(int status, int got, String what) {
    if (got != status) {
      throw new IllegalStateException(what + ": expected HTTP " + status + ", got " + got);
    }
  }

  /** From now on the fixture sends no heartbeats for these holders: they went silent. */
  void silence(Holder... silenced) {
    for (Holder h : silenced) {
      h.silent = true;
    }
  }

  /** These holders heartbeat again, starting now; fails unless the coordinator reaches each. */
  void resume(Holder... resumed) throws IOException {
    for (Holder h : resumed) {
      h.silent = false;
      expect(200, heartbeat(h), "heartbeat of " + h);
    }
  }

  /** Stops a holder's server (its heartbeats go on unless it is also silenced: a half-dead machine). */
  void stop(Holder h) {
    h.server.close();
    h.stopped = true;
  }

  /**
   * Lets {@code time} pass in steps of a quarter of {@code --offline-after} (the shortest the
   * coordinator re-proves a heartbeating holder), every holder that is not silent heartbeating
   * after each step. A heartbeat the coordinator answers other than 200 (it could not reach the
   * holder) is not an error here: tests look at the catalog.
   */
  void elapse(Duration time) throws IOException {
    Duration step = rules.offlineAfter().dividedBy(4);
    Duration left = time;
    while (!left.isZero()) {
      Duration now = left.compareTo(step) < 0 ? left : step;
      clock.advance(now);
      left = left.minus(now);
      for (Holder h : holders) {
        if (!h.silent) {
          heartbeat(h);
        }
      }
    }
  }

  /** Encodes a pack of two random NARs, places it on {@link #total} holders with signed orders, records it. */
  Pack placePack(int seed) throws IOException {
    Encoded pack = encode(seed);
    List<HolderId> holderIds = place(pack);
    catalog.recordPack(pack.id(), pack.manifest(), pack.signedManifest(), holderIds, clock.millis());
    return new Pack(pack.id(), pack.manifest());
  }

  /** As {@link #placePack}, also recording copies of its signed manifest on {@code manifestHolders}; returns the document id. */
  String placePackWithManifestCopies(int seed, List<Holder> manifestHolders) throws IOException {
    Encoded pack = encode(seed);
    List<HolderId> holderIds = place(pack);
    String docId = dev.narvault.core.coordinator.DocumentPlacer.idOf(
        pack.signedManifest().getBytes(StandardCharsets.UTF_8)).hex();
    catalog.recordPack(pack.id(), pack.manifest(), pack.signedManifest(), holderIds,
        Optional.of(new dev.narvault.core.catalog.Catalog.DocumentCopies(docId,
            manifestHolders.stream().map(Holder::id).toList())), clock.millis());
    return docId;
  }

  /** Places a pack's fragments as a migrate worker does, but does not record the pack (not committed). */
  Pack placeUncommitted(int seed) throws IOException {
    Encoded pack = encode(seed);
    place(pack);
    return new Pack(pack.id(), pack.manifest());
  }

  /**
   * Places pack {@code seed} as {@link #placePack} does, its manifest's copies recorded on {@code
   * manifestHolders} under the document id {@code docId}.
   */
  Pack placePack(int seed, String docId, List<Holder> manifestHolders) throws IOException {
    Encoded pack = encode(seed);
    List<HolderId> holderIds = place(pack);
    catalog.recordPack(pack.id(), pack.manifest(), pack.signedManifest(), holderIds,
        Optional.of(new dev.narvault.core.catalog.Catalog.DocumentCopies(docId,
            manifestHolders.stream().map(Holder::id).toList())), clock.millis());
    return new Pack(pack.id(), pack.manifest());
  }

  /**
   * The rewrite of pack {@code seed} (placed by {@link #placePack}) keeping only its NAR {@code keep}:
   * encoded and placed as a new pack, not committed.
   */
  Pack placeRewriteUncommitted(int seed, int keep) throws IOException {
    Encoded pack = encode(seed, Set.of(keep));
    place(pack);
    return new Pack(pack.id(), pack.manifest());
  }

  /**
   * As {@link #placeRewriteUncommitted}, then committed ({@code PackRecords#commitRewrite}) by
   * {@code owner}, which must hold the old pack's claim; the new manifest's copies recorded on
   * {@code manifestHolders} under {@code docId}.
   */
  Pack rewrite(Pack old, int seed, int keep, String owner, String docId, List<Holder> manifestHolders)
      throws IOException {
    Encoded pack = encode(seed, Set.of(keep), Optional.of(old.id()));
    List<HolderId> holderIds = place(pack);
    catalog.packs().commitRewrite(old.id(), owner, pack.id(), pack.manifest(), pack.signedManifest(), holderIds,
        new dev.narvault.core.catalog.Catalog.DocumentCopies(docId, manifestHolders.stream().map(Holder::id).toList()),
        clock.millis());
    return new Pack(pack.id(), pack.manifest());
  }

  private record Encoded(PackId id, Manifest manifest, String signedManifest, byte[] bytes) {}

  private Encoded encode(int seed) {
    return encode(seed, Set.of(0, 1));
  }

  private Encoded encode(int seed, Set<Integer> keep) {
    return encode(seed, keep, Optional.empty());
  }

  /**
   * Pack {@code seed}'s two random NARs, those in {@code keep} packed one after another; its
   * manifest names the pack it {@code replaces}, if any.
   */
  private Encoded encode(int seed, Set<Integer> keep, Optional<PackId> replaces) {
    Random random = new Random(seed);
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      byte[] object = new byte[9000 + random.nextInt(9000)];
      random.nextBytes(object);
      if (!keep.contains(i)) {
        continue;
      }
      Sha256Hash hash = Sha256Hash.of(object);
      String url = "nar/" + hash.toNix32() + ".nar";
      NarInfo info = NarInfo.create(StorePath.makeSourcePath("p" + seed + "-" + i, hash, List.of()), url, "none",
          hash, object.length, hash, object.length, List.of());
      nars.add(new Manifest.Nar(url, pack.size(), object.length, hash.toNixString(), info.text()));
      pack.writeBytes(object);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(data, parity, bytes.length, BLOCK_SIZE);
    List<FragmentDigest> digests;
    try {
      digests = new PackEncoder(Codecs.create(data, parity)).encode(PackSource.of(bytes), layout,
          java.util.stream.IntStream.range(0, total).mapToObj(i -> java.io.OutputStream.nullOutputStream()).toList());
    } catch (IOException e) {
      throw new IllegalStateException("encoding into null streams cannot fail", e);
    }
    Manifest manifest = Manifest.of(layout, digests, nars, replaces);
    String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(manifest, archiveKey)), StandardCharsets.UTF_8);
    return new Encoded(ManifestCodec.packId(manifest), manifest, signed, bytes);
  }

  /** Encodes again into files and places every fragment with the coordinator's orders; holder ids by index. */
  private List<HolderId> place(Encoded pack) throws IOException {
    PackLayout layout = pack.manifest().layout();
    try (FragmentFiles files = new FragmentFiles(dir.resolve("encode"), "fragment-", total)) {
      new PackEncoder(Codecs.create(data, parity)).encode(PackSource.of(pack.bytes()), layout, files.outputs());
      files.finish();
      List<FragmentPlacer.Fragment> fragments = new ArrayList<>();
      for (int i = 0; i < total; i++) {
        fragments.add(new FragmentPlacer.Fragment(i, pack.manifest().fragments().get(i).id(), files.files().get(i)));
      }
      return new FragmentPlacer(coordinator.placements(), holderClient)
          .place(pack.id(), parity, BLOCK_SIZE, fragments, Set.of()).stream().map(FragmentPlacer.Placed::holderId)
          .toList();
    }
  }

  Holder holder(HolderId holderId) {
    return holders.stream().filter(h -> h.id().equals(holderId)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no holder " + holderId));
  }

  HolderRecord record(Holder h) throws IOException {
    return catalog.holder(h.id()).orElseThrow();
  }

  /** The holder the catalog counts fragment {@code index} of the pack on (its stored copy). */
  Holder holderOf(Pack pack, int index) throws IOException {
    return holder(catalog.placements(pack.id()).stream().filter(p -> p.fragmentIndex() == index && p.stored())
        .findFirst().orElseThrow(() -> new IllegalStateException("no stored copy of fragment " + index)).holderId());
  }

  /** The catalog's row for fragment {@code index} of the pack on holder {@code h}. */
  Optional<FragmentPlacement> row(Pack pack, int index, Holder h) throws IOException {
    return catalog.placements(pack.id()).stream().filter(p -> p.fragmentIndex() == index && p.holderId().equals(h.id()))
        .findFirst();
  }

  /** Holders with no copy of the pack at all. */
  List<Holder> without(Pack pack) throws IOException {
    Set<HolderId> with = new HashSet<>();
    catalog.placements(pack.id()).forEach(p -> with.add(p.holderId()));
    return holders.stream().filter(h -> !with.contains(h.id())).toList();
  }

  /** Indexes with a stored copy on a healthy holder now (the pack is whole with all {@link #total}). */
  Set<Integer> counted(Pack pack) throws IOException {
    long now = clock.millis();
    Set<Integer> counted = new HashSet<>();
    for (FragmentPlacement p : catalog.placements(pack.id())) {
      if (p.stored() && rules.healthy(catalog.holder(p.holderId()).orElseThrow(), now)) {
        counted.add(p.fragmentIndex());
      }
    }
    return counted;
  }

  /** Fragment opens on every holder so far: each is one read served. */
  int opens() {
    return holders.stream().mapToInt(h -> h.store.opens.get()).sum();
  }

  @Override
  public void close() throws IOException {
    for (int i = 0; i < coordinators.size(); i++) {
      if (!killed.contains(i)) {
        coordinators.get(i).close();
      }
    }
    for (Holder h : holders) {
      if (h.proxy.isPresent()) {
        h.proxy.get().close();
      }
    }
    // All at once: each holder's graceful shutdown waits a quiet period of its own.
    try (var closing = Executors.newVirtualThreadPerTaskExecutor()) {
      holders.stream().filter(h -> !h.stopped).forEach(h -> closing.execute(h.server::close));
    }
    for (int i = 0; i < catalogs.size(); i++) {
      if (!killed.contains(i) && catalogs.get(i) != catalog) {
        catalogs.get(i).close();
      }
    }
    catalog.close();
    http.close();
  }
}
