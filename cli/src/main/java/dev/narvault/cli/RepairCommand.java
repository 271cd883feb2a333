package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
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
    description = {"Runs the coordinator, the one placement authority. Holders register and send signed",
        "heartbeats, scrub reports and exit notices here; migrate workers ask it where fragments go",
        "(POST /v1/placements, signed with a worker key it trusts) and get orders signed with the",
        "coordinator key. A holder silent past --offline-after is offline: its fragments are",
        "erasures, as are fragments reported corrupt and those on holders whose audit score fell.",
        "Packs with fewer than k + r healthy fragments are repaired, fewest first: any k fragments",
        "are read and verified, the missing ones rebuilt and placed elsewhere, never two of a pack",
        "on one holder, operator or /24 (/48). Surplus copies are deleted with signed orders.",
        "Prometheus metrics at /metrics."})
final class RepairCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "7000", description = "TCP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}). "
      + "Holders with loopback endpoints are accepted only while this is a loopback address.")
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
      description = "Check pack manifests against this key before trusting them (recommended).")
  String archiveKey;

  // 24 h, from simulation (docs/durability.md): 1 h turns most of a volunteer's offline periods
  // into repairs; 72 h leaves packs short for days.
  @Option(names = "--offline-after", defaultValue = "24h", converter = DurationConverter.class,
      description = "A holder silent this long is offline; its fragments count as lost (default: ${DEFAULT-VALUE}).")
  Duration offlineAfter;

  @Option(names = "--vetting-period", defaultValue = "0s", converter = DurationConverter.class,
      description = "New holders get no fragments until registered this long (default: ${DEFAULT-VALUE}).")
  Duration vetting;

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
      description = "Where rebuilt fragments wait for placement (default: ${DEFAULT-VALUE}).")
  Path workDir;

  private final PrintStream out;

  RepairCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Codecs.warmUpInBackground();
    CoordinatorConfig config = new CoordinatorConfig(new InetSocketAddress(bind, port),
        NixSecretKey.parse(Files.readString(coordinatorKey)), workerKeys.stream().map(NixPublicKey::parse).toList(),
        Optional.ofNullable(archiveKey).map(k -> TrustedKeys.of(NixPublicKey.parse(k))),
        new HolderRules(offlineAfter, vetting), threshold, repairInterval, auditInterval, maxRepairSpeed, skew, workDir);
    try (Catalog cat = Catalog.open(catalog); Coordinator coordinator = Coordinator.start(config, cat, InstantSource.system())) {
      out.println("coordinator at " + coordinator.endpoint() + " (Ctrl-C to stop); coordinator public key "
          + config.coordinatorKey().publicKey());
      if (config.workerKeys().isEmpty()) {
        out.println("no --worker-public-key given: placement requests (migrate) will be refused");
      }
      Runtime.getRuntime().addShutdownHook(new Thread(coordinator::close));
      coordinator.awaitClose();
    }
    return 0;
  }
}
