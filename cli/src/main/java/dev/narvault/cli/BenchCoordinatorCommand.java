package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.BlockHashes;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench coordinator}: a real coordinator ({@code narvault repair}, in a process
 * of its own, so its CPU and memory are its own) facing a {@link HolderSwarm} of N holders that
 * speak the real protocol. Measures what a coordinator for 10^4 volunteers must sustain:
 * registrations, the heartbeat rate, its CPU per 1000 holders, catalog writes, the audit rate
 * (and so the audits each holder gets per day at the defaults), placement decisions, and how
 * long a holder that vanishes takes to be noticed.
 */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
    header = "Measure a coordinator facing N holders that speak the real protocol.",
    description = {"Starts a real coordinator (narvault repair, in a child process with its own heap) on a fresh "
            + "catalog (SQLite in a temporary directory, or a schema of its own in the PostgreSQL database named by "
            + "--catalog, dropped afterwards) and N lightweight holders in this process, each with its own key and "
            + "its own loopback address (127.a.b.1, each in a /24 of its own). The holders register (their endpoints "
            + "proven), the catalog is filled with RS(40,40) packs of small fragments on them, and then for "
            + "--seconds they heartbeat every 30 seconds, as real holders do, while the coordinator audits them "
            + "back to back (--audit-interval 1s, so the audit rate is measured rather than the pause). Then: the "
            + "heartbeat rate the coordinator sustains with 64 in flight, --placements placement requests of 80 "
            + "fragments, and --dead holders that vanish (stop answering, their connections left hanging) until "
            + "the coordinator has failed to reach each of them.",
        "",
        "Reported: registrations per second, heartbeat latency, coordinator CPU per 1000 holders, catalog writes per "
            + "second (PostgreSQL), audits per second and per holder per day at the default 5-minute pause, "
            + "placement latency, the time to notice a vanished holder, and the coordinator's peak memory. Vetting "
            + "is off in the coordinator under test (--vetting-period 0s --vetting-audits 0) so that placements can "
            + "use every holder. Results and the commands that reproduce them are in docs/performance.md.",
        ""})
final class BenchCoordinatorCommand implements Callable<Integer> {
  private static final int DATA = 40;
  private static final int PARITY = 40;
  private static final int BLOCK = 4096;
  private static final long FRAGMENT = 2L * BLOCK;
  /** A real holder's heartbeat period ({@code narvault holder --heartbeat-seconds}). */
  private static final long HEARTBEAT_MILLIS = 30_000;
  /** The coordinator's default pause between audit rounds. */
  private static final long DEFAULT_AUDIT_PAUSE_SECONDS = 300;
  /** The coordinator's endpoint proof timeout: a vanished holder costs an audit round this long. */
  private static final long PROOF_TIMEOUT_SECONDS = 10;
  private static final int IN_FLIGHT = 64;

  @Option(names = "--holders", defaultValue = "1000", description = "Holders in the swarm, 80 to 31500 (default: "
      + "${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--packs", defaultValue = "-1", description = "RS(40,40) packs recorded on them (default: one per "
      + "4 holders, i.e. 20 fragments a holder).")
  int packs;

  @Option(names = "--seconds", defaultValue = "60", description = "Length of the steady phase, heartbeats and "
      + "audits (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(names = "--dead", defaultValue = "-1", description = "Holders that vanish at the end (default: one per "
      + "1000 holders, at least 1; 0 skips that phase).")
  int dead;

  @Option(names = "--placements", defaultValue = "50", description = "Placement requests of 80 fragments timed "
      + "(default: ${DEFAULT-VALUE}).")
  int placements;

  @Option(names = "--catalog", paramLabel = "JDBC-URL", description = "A PostgreSQL database to run on "
      + "(jdbc:postgresql://…); the bench creates a schema of its own there and drops it at the end. Default: SQLite "
      + "in a temporary directory.")
  String catalogUrl;

  @Option(names = "--coordinator-heap", defaultValue = "256m", description = "The coordinator's -Xmx (default: "
      + "${DEFAULT-VALUE}).")
  String heap;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--tsv", description = "One line per figure: name, a tab, the value, a tab, the unit.")
  boolean tsv;

  private final PrintStream out;

  BenchCoordinatorCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (holders < DATA + PARITY || holders > 126 * 250) {
      throw new IllegalArgumentException("--holders must be between " + (DATA + PARITY) + " and " + 126 * 250
          + ", got " + holders);
    }
    if (seconds < 5 || seconds > 3600) {
      throw new IllegalArgumentException("--seconds must be between 5 and 3600, got " + seconds);
    }
    if (!heap.matches("[1-9][0-9]{0,5}[mg]")) {
      throw new IllegalArgumentException("--coordinator-heap must look like 256m or 2g, got " + heap);
    }
    int packCount = packs < 0 ? Math.max(1, holders / 4) : packs;
    int deadCount = dead < 0 ? Math.max(1, holders / 1000) : dead;
    if (deadCount > holders / 10 || placements < 0 || placements > 10_000 || packCount > 1_000_000) {
      throw new IllegalArgumentException("--dead must be at most a tenth of the holders, --placements at most 10000, "
          + "--packs at most 10^6");
    }
    try (BenchDatabase db = BenchDatabase.create("narvault-bench-coordinator-", catalogUrl);
        HolderSwarm swarm = HolderSwarm.start(holders, 2)) {
      List<BenchFigure> figures = new Run(db, swarm, packCount, deadCount).run();
      BenchFigure.print(out, tsv, String.format(Locale.ROOT, "coordinator bench: %,d holders, %,d RS(%d,%d) packs, "
          + "%d s steady, %s", holders, packCount, DATA, PARITY, seconds, catalogUrl == null ? "SQLite" : "PostgreSQL"),
          figures);
    }
    return 0;
  }

  private void progress(String format, Object... args) {
    if (!tsv) {
      System.err.printf(Locale.ROOT, "  " + format + "%n", args);
    }
  }

  /** One run: the coordinator process, and the phases against it. */
  private final class Run {
    final BenchDatabase db;
    final HolderSwarm swarm;
    final int packCount;
    final int deadCount;
    final List<BenchFigure> figures = new ArrayList<>();
    final NixSecretKey coordinatorKey = NixSecretKey.generate("bench-coordinator-1", new SecureRandom());
    final NixSecretKey workerKey = NixSecretKey.generate("bench-worker-1", new SecureRandom());
    final NixSecretKey archiveKey = NixSecretKey.generate("bench-archive-1", new SecureRandom());
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    final SplittableRandom random = new SplittableRandom(seed);
    Process process;
    URI coordinator;
    /** Coordinator CPU seconds per audit, per heartbeat; audits completed per second; measured below. */
    double cpuPerAudit;
    double cpuPerHeartbeat;
    double auditRate;

    Run(BenchDatabase db, HolderSwarm swarm, int packCount, int deadCount) {
      this.db = db;
      this.swarm = swarm;
      this.packCount = packCount;
      this.deadCount = deadCount;
    }

    List<BenchFigure> run() throws Exception {
      try (Catalog ignored = Catalog.open(db.url)) {
        // The schema, made before the coordinator and this process both use the catalog.
      }
      startCoordinator();
      try {
        register();
        fill();
        auditsAlone();
        steady();
        heartbeatCapacity();
        perThousand();
        place();
        figures.add(new BenchFigure("audits-failed", metric("narvault_audits_failed_total"), "count", "audits the "
            + "holders failed so far (wrong bytes or not found: 0 unless the swarm is broken)"));
        vanish();
        memory();
      } finally {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      return figures;
    }

    private void startCoordinator() throws IOException, InterruptedException {
      Path key = db.scratch.resolve("coordinator.key");
      Files.writeString(key, coordinatorKey.toFileContents() + "\n");
      int port;
      try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        port = probe.getLocalPort();
      }
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx" + heap));
      // The module options this JVM was started with (the launcher's: the vector API for the codec).
      for (String arg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
        if (arg.startsWith("--add-modules") || arg.startsWith("--enable-native-access")
            || arg.startsWith("--sun-misc-unsafe-memory-access")) {
          command.add(arg);
        }
      }
      command.addAll(List.of("-cp", System.getProperty("java.class.path"), Narvault.class.getName(), "repair",
          "--catalog", db.url, "--bind", "127.0.0.1", "--port", Integer.toString(port),
          "--coordinator-key", key.toString(), "--worker-public-key", workerKey.publicKey().toString(),
          "--archive-public-key", archiveKey.publicKey().toString(), "--allow-private-holders",
          "--vetting-period", "0s", "--vetting-audits", "0", "--audit-interval", "1s", "--dashboard-port", "0",
          "--work-dir", db.scratch.resolve("coordinator-work").toString()));
      Path log = db.scratch.resolve("coordinator.log");
      process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      coordinator = URI.create("http://127.0.0.1:" + port);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        try {
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(coordinator.resolve("/v1/policy"))
              .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            break;
          }
        } catch (IOException notYet) {
          // starting
        }
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IOException("the coordinator did not start; its log:\n" + tail(log));
        }
        Thread.sleep(200);
      }
      progress("coordinator started (pid %d) at %s", process.pid(), coordinator);
    }

    private void register() throws Exception {
      double[] ms = new double[holders];
      AtomicReference<String> failure = new AtomicReference<>();
      long start = System.nanoTime();
      int failed = forEachHolder(swarm.holders(), (h, i) -> swarm.register(h, coordinator, 1L << 40), (i, a) -> {
        ms[i] = a.nanos() / 1e6;
        if (a.status() != 200) {
          failure.compareAndSet(null, "HTTP " + a.status() + " " + a.body().strip());
          return false;
        }
        return true;
      }, failure);
      double secs = (System.nanoTime() - start) / 1e9;
      if (failed > 0) {
        throw new IOException(failed + " of " + holders + " registrations failed, the first: " + failure.get());
      }
      figures.add(new BenchFigure("registrations-per-s", holders / secs, "1/s", "registrations, each endpoint proven, "
          + IN_FLIGHT + " at once"));
      figures.addAll(BenchFigure.percentiles("registration", "one registration", ms));
      progress("%d holders registered in %.1f s", holders, secs);
    }

    /** Records the packs, each on 80 random holders, with fragments the swarm can serve. */
    private void fill() throws Exception {
      long start = System.nanoTime();
      List<HolderSwarm.Holder> all = swarm.holders();
      PackLayout layout = PackLayout.of(DATA, PARITY, DATA * FRAGMENT, BLOCK);
      try (Catalog catalog = Catalog.open(db.url)) {
        for (int p = 0; p < packCount; p++) {
          List<FragmentDigest> digests = new ArrayList<>();
          for (int i = 0; i < DATA + PARITY; i++) {
            BlockHashes hashes = swarm.fragment(random.nextLong(), FRAGMENT, BLOCK);
            digests.add(new FragmentDigest(hashes.fragmentId(FRAGMENT, BLOCK), FRAGMENT, hashes));
          }
          Manifest manifest = Manifest.of(layout, digests, List.of(BenchCatalogCommand.nar(random, 0,
              layout.packLength(), new ArrayList<>(), new ArrayList<>())));
          PackId packId = ManifestCodec.packId(manifest);
          String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(manifest, archiveKey)),
              StandardCharsets.UTF_8);
          catalog.recordPack(packId, manifest, signed, pick(all), System.currentTimeMillis());
        }
      }
      progress("%d packs recorded in %.1f s", packCount, (System.nanoTime() - start) / 1e9);
    }

    private List<HolderId> pick(List<HolderSwarm.Holder> all) {
      int[] order = new int[all.size()];
      java.util.Arrays.setAll(order, i -> i);
      List<HolderId> picked = new ArrayList<>();
      for (int i = 0; i < DATA + PARITY; i++) {
        int j = i + random.nextInt(order.length - i);
        int swap = order[i];
        order[i] = order[j];
        order[j] = swap;
        picked.add(all.get(order[i]).id);
      }
      return picked;
    }

    /** Audits alone, rounds back to back, no heartbeats: the audit rate and the CPU one audit costs. */
    private void auditsAlone() throws Exception {
      long window = TimeUnit.SECONDS.toNanos(Math.max(5, seconds / 3));
      long audits0 = swarm.auditReads.get();
      long proofs0 = swarm.proofsAnswered.get();
      double cpu0 = cpuSeconds();
      long start = System.nanoTime();
      TimeUnit.NANOSECONDS.sleep(window);
      double secs = (System.nanoTime() - start) / 1e9;
      double cpu = cpuSeconds() - cpu0;
      long audits = swarm.auditReads.get() - audits0;
      long proofs = swarm.proofsAnswered.get() - proofs0;
      if (audits == 0) {
        throw new IOException("no audit reached a holder in " + Math.round(secs) + " s (" + proofs + " proofs)");
      }
      auditRate = audits / secs;
      cpuPerAudit = cpu / audits;
      figures.add(new BenchFigure("audits-per-s", auditRate, "1/s", "audits (endpoint proof, one block read and "
          + "checked, recorded) completed per second, rounds back to back, nothing else running"));
      figures.add(new BenchFigure("cpu-per-audit", cpuPerAudit * 1000, "ms", "coordinator CPU per audit"));
      double round = holders / auditRate;
      figures.add(new BenchFigure("audit-round", round, "s", "one audit round over every holder, at that rate"));
      figures.add(new BenchFigure("audits-per-holder-day", 86_400 / (DEFAULT_AUDIT_PAUSE_SECONDS + round), "1/day",
          "audits each holder gets a day at the defaults (a round, then a 5-minute pause)"));
      progress("audits alone: %d audits in %.1f s", audits, secs);
    }

    /** Heartbeats every 30 s from each holder, spread evenly, for --seconds; audits run meanwhile. */
    private void steady() throws Exception {
      int total = (int) Math.max(1, (long) holders * seconds * 1000 / HEARTBEAT_MILLIS);
      double[] ms = new double[total];
      AtomicLong failed = new AtomicLong();
      AtomicReference<String> failure = new AtomicReference<>();
      CountDownLatch done = new CountDownLatch(total);
      Semaphore inFlight = new Semaphore(4096);
      long audits0 = swarm.auditReads.get();
      long proofs0 = swarm.proofsAnswered.get();
      OptionalDouble writes0 = catalogWrites();
      double cpu0 = cpuSeconds();
      long start = System.nanoTime();
      List<HolderSwarm.Holder> all = swarm.holders();
      for (int q = 0; q < total; q++) {
        long due = start + TimeUnit.MILLISECONDS.toNanos(q * HEARTBEAT_MILLIS / holders);
        long wait = due - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        inFlight.acquire();
        int at = q;
        swarm.heartbeat(all.get(q % holders), coordinator).whenComplete((a, e) -> {
          ms[at] = a == null ? Double.NaN : a.nanos() / 1e6;
          if (a == null || a.status() != 200) {
            failed.incrementAndGet();
            failure.compareAndSet(null, a == null ? e.toString() : "HTTP " + a.status() + " " + a.body().strip());
          }
          inFlight.release();
          done.countDown();
        });
      }
      if (!done.await(60, TimeUnit.SECONDS)) {
        throw new IOException("heartbeats still unanswered a minute after the steady phase");
      }
      double secs = (System.nanoTime() - start) / 1e9;
      double cpu = cpuSeconds() - cpu0;
      long audits = swarm.auditReads.get() - audits0;
      long proofs = swarm.proofsAnswered.get() - proofs0;
      OptionalDouble writes1 = catalogWrites();
      figures.add(new BenchFigure("heartbeats-offered-per-s", total / secs, "1/s", "heartbeats sent, each holder "
          + "every 30 s"));
      figures.add(new BenchFigure("heartbeats-failed", failed.get(), "count", "heartbeats not answered 200"
          + (failure.get() == null ? "" : " (first: " + failure.get() + ")")));
      figures.addAll(BenchFigure.percentiles("heartbeat", "one heartbeat, steady", finite(ms)));
      figures.add(new BenchFigure("coordinator-cpu-steady", 100 * cpu / secs, "% core", "coordinator CPU, steady "
          + "phase (heartbeats, and audits back to back)"));
      if (writes0.isPresent() && writes1.isPresent()) {
        figures.add(new BenchFigure("catalog-writes-per-s", (writes1.getAsDouble() - writes0.getAsDouble()) / secs,
            "rows/s", "rows inserted, updated or deleted per second (PostgreSQL's statistics)"));
      }
      figures.add(new BenchFigure("audits-per-s-steady", audits / secs, "1/s", "audits completed per second "
          + "meanwhile (" + proofs + " proofs)"));
      progress("steady phase: %d heartbeats, %d audits in %.1f s", total, audits, secs);
    }

    /**
     * As many heartbeats as the coordinator answers with 64 in flight for 10 s, audits still running:
     * each of 64 senders heartbeats its own holders one after the other (a holder's heartbeats
     * never overtake each other, which the coordinator would refuse as replays). The CPU one
     * heartbeat costs is what is left after the audits' share.
     */
    private void heartbeatCapacity() throws Exception {
      long window = TimeUnit.SECONDS.toNanos(10);
      AtomicLong answered = new AtomicLong();
      AtomicLong failed = new AtomicLong();
      AtomicReference<String> failure = new AtomicReference<>();
      List<HolderSwarm.Holder> all = swarm.holders();
      long audits0 = swarm.auditReads.get();
      double cpu0 = cpuSeconds();
      long start = System.nanoTime();
      CountDownLatch stopped = new CountDownLatch(IN_FLIGHT);
      for (int w = 0; w < IN_FLIGHT; w++) {
        chain(all, w, answered, failed, failure, start + window, stopped);
      }
      if (!stopped.await(70, TimeUnit.SECONDS)) {
        throw new IOException("heartbeats still unanswered a minute after the capacity phase");
      }
      double secs = (System.nanoTime() - start) / 1e9;
      double cpu = cpuSeconds() - cpu0;
      long audits = swarm.auditReads.get() - audits0;
      cpuPerHeartbeat = Math.max(0, cpu - audits * cpuPerAudit) / Math.max(1, answered.get());
      figures.add(new BenchFigure("heartbeat-capacity", answered.get() / secs, "1/s", "heartbeats answered per "
          + "second with " + IN_FLIGHT + " in flight, audits still running (" + failed.get() + " failed"
          + (failure.get() == null ? "" : ", the first: " + failure.get()) + ")"));
      figures.add(new BenchFigure("cpu-per-heartbeat", cpuPerHeartbeat * 1000, "ms", "coordinator CPU per heartbeat "
          + "(signature checked, recorded, standing answered)"));
    }

    private void chain(List<HolderSwarm.Holder> all, int sender, AtomicLong answered, AtomicLong failed,
        AtomicReference<String> failure, long until, CountDownLatch stopped) {
      if (System.nanoTime() >= until) {
        stopped.countDown();
        return;
      }
      // Sender w takes holders w, w + 64, w + 128, ... in turn.
      int mine = (all.size() - sender + IN_FLIGHT - 1) / IN_FLIGHT;
      long turn = answered.get() + failed.get();
      HolderSwarm.Holder h = all.get(sender + (int) (turn % mine) * IN_FLIGHT);
      swarm.heartbeat(h, coordinator).whenComplete((a, e) -> {
        if (a != null && a.status() == 200) {
          answered.incrementAndGet();
        } else {
          failed.incrementAndGet();
          failure.compareAndSet(null, a == null ? e.toString() : "HTTP " + a.status() + " " + a.body().strip());
        }
        chain(all, sender, answered, failed, failure, until, stopped);
      });
    }

    /** What 1000 holders cost the coordinator at the defaults: a heartbeat each 30 s, an audit each round and pause. */
    private void perThousand() {
      double round = holders / auditRate;
      double perSecond = 1000 * (cpuPerHeartbeat * 1000 / HEARTBEAT_MILLIS
          + cpuPerAudit / (DEFAULT_AUDIT_PAUSE_SECONDS + round));
      figures.add(new BenchFigure("cpu-per-1000-holders", 100 * perSecond, "% core", "coordinator CPU 1000 holders "
          + "cost at the defaults (heartbeat every 30 s, audit rounds 5 minutes apart), from the two costs above"));
    }

    private void place() throws Exception {
      if (placements == 0) {
        return;
      }
      PlacementClient client = new PlacementClient(coordinator, workerKey, Clock.systemUTC());
      double[] ms = new double[placements];
      int failed = 0;
      String first = null;
      byte[] id = new byte[32];
      for (int p = 0; p < placements; p++) {
        List<CoordinatorMessages.Wanted> wanted = new ArrayList<>();
        for (int i = 0; i < DATA + PARITY; i++) {
          for (int b = 0; b < id.length; b += 8) {
            long v = random.nextLong();
            for (int j = 0; j < 8; j++) {
              id[b + j] = (byte) (v >>> (8 * j));
            }
          }
          wanted.add(new CoordinatorMessages.Wanted(i, HexFormat.of().formatHex(id), FRAGMENT));
        }
        PackId packId = new PackId("benchpack" + Long.toHexString(random.nextLong()));
        long t = System.nanoTime();
        try {
          client.place(packId, PARITY, BLOCK, wanted, List.of(), List.of());
          ms[p] = (System.nanoTime() - t) / 1e6;
        } catch (IOException e) {
          ms[p] = Double.NaN;
          failed++;
          first = first == null ? e.getMessage() : first;
        }
      }
      figures.addAll(BenchFigure.percentiles("placement", "one placement of 80 fragments (signed orders)", finite(ms)));
      figures.add(new BenchFigure("placements-failed", failed, "count", "placements refused or unanswered in 30 s"
          + (first == null ? "" : " (first: " + first + ")")));
    }

    /** Holders vanish; how long until the coordinator has failed to reach every one of them. */
    private void vanish() throws Exception {
      if (deadCount == 0) {
        return;
      }
      double failed0 = metric("narvault_endpoint_proofs_failed_total");
      List<HolderSwarm.Holder> all = swarm.holders();
      List<HolderSwarm.Holder> gone = new ArrayList<>();
      for (int i = 0; i < deadCount; i++) {
        HolderSwarm.Holder h = all.get((int) ((long) i * all.size() / deadCount));
        swarm.kill(h);
        gone.add(h);
      }
      long start = System.nanoTime();
      long bound = TimeUnit.SECONDS.toNanos(600);
      while (metric("narvault_endpoint_proofs_failed_total") - failed0 < deadCount) {
        if (System.nanoTime() - start > bound) {
          throw new IOException("the coordinator had not noticed " + deadCount + " vanished holders after 600 s");
        }
        Thread.sleep(200);
      }
      double secs = (System.nanoTime() - start) / 1e9;
      // The last of them the audits reached (a holder is reached by the first connection, or request,
      // the coordinator sends it after it died).
      double firstContact = gone.stream().filter(h -> h.firstContactAfterDeathNanos != 0)
          .mapToDouble(h -> (h.firstContactAfterDeathNanos - h.diedAtNanos) / 1e9).max().orElse(Double.NaN);
      figures.add(new BenchFigure("vanished-noticed", secs, "s", deadCount + " vanished holders all failed their "
          + "endpoint proofs (audits back to back; at the defaults add the 5-minute pause)"));
      if (!Double.isNaN(firstContact)) {
        figures.add(new BenchFigure("vanished-first-contact", firstContact, "s", "until the audit round reached the "
            + "last of them; each then waits out the " + PROOF_TIMEOUT_SECONDS + "-s proof timeout"));
      }
    }

    private void memory() throws IOException {
      Path status = Path.of("/proc", Long.toString(process.pid()), "status");
      if (!Files.isReadable(status)) {
        return;
      }
      Matcher m = Pattern.compile("VmHWM:\\s+(\\d+) kB").matcher(Files.readString(status));
      if (m.find()) {
        figures.add(new BenchFigure("coordinator-peak-rss", Long.parseLong(m.group(1)) / 1024.0, "MiB",
            "the coordinator's peak resident memory, with -Xmx" + heap));
      }
    }

    /**
     * The coordinator process's CPU time so far, in seconds: user and system time from
     * {@code /proc/PID/stat} (in USER_HZ, 100 a second on Linux), else what Java reports.
     */
    private double cpuSeconds() throws IOException {
      Path stat = Path.of("/proc", Long.toString(process.pid()), "stat");
      if (Files.isReadable(stat)) {
        String text = Files.readString(stat);
        // Fields after the command name, which is in parentheses and may hold spaces.
        String[] f = text.substring(text.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0;
      }
      return process.toHandle().info().totalCpuDuration().map(d -> d.toNanos() / 1e9)
          .orElseThrow(() -> new IOException("this system does not report the coordinator's CPU time"));
    }

    /** Rows inserted, updated and deleted in the bench's schema so far (PostgreSQL only). */
    private OptionalDouble catalogWrites() throws SQLException, InterruptedException {
      if (!db.postgres()) {
        return OptionalDouble.empty();
      }
      // PostgreSQL publishes a backend's counts within a second or so of its transactions.
      Thread.sleep(1500);
      try (Connection c = DriverManager.getConnection(db.url); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
              + "FROM pg_stat_user_tables WHERE schemaname = current_schema()")) {
        rs.next();
        return OptionalDouble.of(rs.getDouble(1));
      }
    }

    private double metric(String name) throws IOException, InterruptedException {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(coordinator.resolve("/metrics"))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.eE+-]+)$").matcher(r.body());
      if (r.statusCode() != 200 || !m.find()) {
        throw new IOException("the coordinator's /metrics has no " + name + " (HTTP " + r.statusCode() + ")");
      }
      return Double.parseDouble(m.group(1));
    }

    /** Runs {@code call} for every holder, {@value #IN_FLIGHT} at a time; returns how many failed. */
    private int forEachHolder(List<HolderSwarm.Holder> all,
        java.util.function.BiFunction<HolderSwarm.Holder, Integer, CompletableFuture<HolderSwarm.Answer>> call,
        java.util.function.BiPredicate<Integer, HolderSwarm.Answer> check, AtomicReference<String> failure)
        throws InterruptedException, IOException {
      Semaphore slots = new Semaphore(IN_FLIGHT);
      CountDownLatch done = new CountDownLatch(all.size());
      AtomicLong failed = new AtomicLong();
      for (int i = 0; i < all.size(); i++) {
        slots.acquire();
        int at = i;
        call.apply(all.get(i), i).whenComplete((a, e) -> {
          if (a == null) {
            failure.compareAndSet(null, e.toString());
            failed.incrementAndGet();
          } else if (!check.test(at, a)) {
            failed.incrementAndGet();
          }
          slots.release();
          done.countDown();
        });
      }
      if (!done.await(120, TimeUnit.SECONDS)) {
        throw new IOException("requests still unanswered after two minutes");
      }
      return (int) failed.get();
    }
  }

  private static double[] finite(double[] values) {
    return java.util.Arrays.stream(values).filter(Double::isFinite).toArray();
  }

  private static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
