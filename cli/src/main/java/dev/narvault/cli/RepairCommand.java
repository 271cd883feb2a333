package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.repair.Coordinator;
import dev.narvault.repair.CoordinatorConfig;
import dev.narvault.repair.policy.HolderRules;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault repair}: the coordinator. */
@Command(name = "repair", mixinStandardHelpOptions = true,
    header = "Run the coordinator: placement, liveness, audits, repair, garbage collection.",
    description = {"Runs the coordinator, the one placement authority. Holders register and send signed heartbeats, "
            + "scrub reports and exit notices here; migrate workers ask it where fragments go (POST "
            + "/v1/placements, signed with a worker key it trusts) and get orders signed with the coordinator "
            + "key. A holder's endpoint counts once the coordinator has connected back to it and the holder "
            + "signed a challenge there; its failure domains (/24, /16, operator) come from that proven "
            + "address. A holder silent or unreachable past --offline-after is offline: its fragments are "
            + "erasures, as are fragments found corrupt and those on disqualified holders. Audits forgive: "
            + "wrong bytes lower a slow audit score (suspect: no new fragments; disqualified far later), "
            + "timeouts and 5xx only a recoverable suspension score. Packs below k + r counted fragments are "
            + "repaired, fewest first: copies that came back are audited and count again, readable fragments "
            + "are copied, the rest decoded from any k, placed within the per-pack domain limits. A surplus "
            + "copy is deleted only when its pack is whole without it. Prometheus metrics at /metrics; the "
            + "liveness window and limits at /v1/policy.",
        ""})
final class RepairCommand implements Callable<Integer> {
  @picocli.CommandLine.Mixin
  ConfigFile.Mixin config;

  @Option(names = "--port", defaultValue = "7000", description = "TCP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL.")
  String catalog;

  @Option(names = "--coordinator-key", required = true, paramLabel = "FILE",
      description = "The coordinator's secret key (narvault keygen): it signs placement and delete orders.")
  Path coordinatorKey;

  @Option(names = "--worker-public-key", paramLabel = "NAME:BASE64",
      description = "A migrate worker's public key whose placement requests are granted; repeatable.")
  List<String> workerKeys = List.of();

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "Check pack manifests against these keys before trusting them (recommended); repeatable: "
          + "while the archive key is rotated, both the old and the new key.")
  List<String> archiveKeys;

  // 24 h, from simulation (docs/durability.md): 1 h turns most of a volunteer's offline periods
  // into repairs; 72 h leaves packs short for days.
  @Option(names = "--offline-after", defaultValue = "24h", converter = DurationConverter.class,
      description = "A holder not heard from, or not reached at its endpoint, for this long is offline; its fragments count as lost (default: ${DEFAULT-VALUE}).")
  Duration offlineAfter;

  @Option(names = "--forget-after", defaultValue = "30d", converter = DurationConverter.class,
      description = "A holder neither heard from nor reached for this long is gone for good: its copies that no "
          + "longer count (superseded, corrupt, unverified) are forgotten once their packs are whole without them, "
          + "so that repair rounds and the catalog do not grow with every volunteer who ever left. At least 8 days "
          + "and twice --offline-after (default: ${DEFAULT-VALUE}).")
  Duration forgetAfter;

  @Option(names = "--vetting-period", defaultValue = "3d", converter = DurationConverter.class,
      description = "A new holder is vetted only once registered this long (default: ${DEFAULT-VALUE}).")
  Duration vetting;

  @Option(names = "--vetting-audits", defaultValue = "100",
      description = "... and once it has passed this many audits; 0 with --vetting-period 0s turns vetting off, "
          + "e.g. for the founding holders of a new archive (default: ${DEFAULT-VALUE}).")
  int vettingAudits;

  @Option(names = "--max-unvetted-per-pack", defaultValue = "1",
      description = "Fragments of one pack that unvetted holders may hold together, at least 1 while vetting is on: a holder earns its vetting by holding fragments and passing audits on them (default: ${DEFAULT-VALUE}).")
  int maxUnvetted;

  @Option(names = "--max-per-network", defaultValue = "1",
      description = "Fragments of one pack in one IPv4 /24 or IPv6 /48 (default: ${DEFAULT-VALUE}).")
  int perNetwork;

  @Option(names = "--max-per-wider-network", defaultValue = "-1",
      description = "Fragments of one pack in one IPv4 /16 or IPv6 /32 (default: floor(m/2) per pack, so that losing "
          + "one wider network costs a pack at most that).")
  int perWiderNetwork;

  @Option(names = "--max-per-operator", defaultValue = "-1",
      description = "Fragments of one pack with one declared operator (default: floor(m/2) per pack).")
  int perOperator;

  @Option(names = "--allow-private-holders",
      description = "Development only: accept holders at loopback and private addresses (127/8, 10/8, 192.168/16, "
          + "...). Never for an archive among strangers: a private address proves nothing about where a holder is.")
  boolean allowPrivateHolders;

  @Option(names = "--repair-threshold", defaultValue = "-1",
      description = "r: repair packs with fewer than k + r healthy fragments (default: ceil(m/2) per pack).")
  int threshold;

  @Option(names = "--repair-interval", defaultValue = "60s", converter = DurationConverter.class,
      description = "Pause between repair rounds; 0 disables repair (default: ${DEFAULT-VALUE}).")
  Duration repairInterval;

  @Option(names = "--audit-interval", defaultValue = "5m", converter = DurationConverter.class,
      description = "Pause between audit rounds, one block per holder each; 0 disables (default: ${DEFAULT-VALUE}).")
  Duration auditInterval;

  @Option(names = "--max-repair-speed", defaultValue = "0", converter = ByteSize.class,
      description = "Cap on repair traffic in bytes/s, e.g. 50MiB (default: no cap).")
  long maxRepairSpeed;

  @Option(names = "--max-clock-skew", defaultValue = "5m", converter = DurationConverter.class,
      description = "Signed messages further from this clock are refused (default: ${DEFAULT-VALUE}).")
  Duration skew;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-repair",
      description = "Where rebuilt fragments wait for placement, and where this coordinator keeps its name on "
          + "repair claims (claim-owner-PORT): keep it across restarts, e.g. under /var/lib, or a restarted "
          + "coordinator waits for its old claims to run out (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(names = "--owner", defaultValue = "", paramLabel = "NAME",
      description = "This coordinator's name on the claims and leases it takes in the catalog, the same after a "
          + "restart and different for every coordinator sharing the catalog (default: one made up at first start "
          + "and kept in --work-dir).")
  String owner;

  @Option(names = "--dashboard-port", defaultValue = "7002",
      description = "Port of the archive's dashboard: packs by fragments missing, the repair queue, holders by state, "
          + "bytes archived and drained and what they save in S3; 0 = no dashboard (default: ${DEFAULT-VALUE}).")
  int dashboardPort;

  @Option(names = "--dashboard-bind", defaultValue = "127.0.0.1",
      description = "Address the dashboard listens on (default: ${DEFAULT-VALUE}, this machine only).")
  String dashboardBind;

  @Option(names = "--s3-price", defaultValue = "0.023", paramLabel = "PER_GIB_MONTH",
      description = "S3 storage price per GiB-month the dashboard counts drained bytes' savings at, in your "
          + "currency (default: ${DEFAULT-VALUE}, S3 Standard's first tier in USD).")
  double s3Price;

  private final PrintStream out;

  RepairCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Codecs.warmUpInBackground();
    if (perNetwork == 0 || perWiderNetwork == 0 || perOperator == 0 || maxUnvetted < 0 || vettingAudits < 0) {
      throw new IllegalArgumentException("domain limits must be >= 1 (or -1 for the default), the unvetted share "
          + "and vetting audits >= 0");
    }
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress(bind, port),
        NixSecretKey.parse(Files.readString(coordinatorKey)), workerKeys.stream().map(NixPublicKey::parse).toList(),
        Optional.ofNullable(archiveKeys).map(TrustedKeys::parse),
        new HolderRules(offlineAfter, new HolderRules.Vetting(vettingAudits, vetting, maxUnvetted)), threshold,
        repairInterval, auditInterval, maxRepairSpeed, skew, workDir)
        .withLimits(new DomainLimits(perNetwork, perWiderNetwork, perOperator)).withForgetAfter(forgetAfter)
        .withOwner(owner.strip());
    if (allowPrivateHolders) {
      config = config.allowingPrivateHolders();
      out.println("warning: --allow-private-holders: holders at loopback and private addresses are accepted "
          + "(development only)");
    }
    try (Catalog cat = Catalog.open(catalog); Coordinator coordinator = Coordinator.start(config, cat, InstantSource.system())) {
      out.println("coordinator at " + coordinator.endpoint() + " (Ctrl-C to stop); coordinator public key "
          + config.coordinatorKey().publicKey());
      if (config.workerKeys().isEmpty()) {
        out.println("no --worker-public-key given: placement requests (migrate) will be refused");
      }
      if (dashboardPort != 0) {
        out.println("dashboard at " + coordinator.startDashboard(new InetSocketAddress(dashboardBind, dashboardPort),
            s3Price));
      }
      Runtime.getRuntime().addShutdownHook(new Thread(coordinator::close));
      coordinator.awaitClose();
    }
    return 0;
  }
}
