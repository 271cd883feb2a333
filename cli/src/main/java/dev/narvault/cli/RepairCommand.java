package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.repair.Auditor;
import dev.narvault.repair.CoordinatorServer;
import dev.narvault.repair.Membership;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault repair}: the coordinator. */
@Command(name = "repair", mixinStandardHelpOptions = true,
    header = "Run the coordinator: holder membership, heartbeats, audits.",
    description = {"Runs the coordinator: holders register and send signed heartbeats and scrub reports",
        "here (recorded in the catalog), and every holder is audited on a schedule with proofs of",
        "storage. Rebuilding lost fragments comes with the repair issue."})
final class RepairCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "7000", description = "TCP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL.")
  String catalog;

  @Option(names = "--audit-interval-seconds", defaultValue = "300", description = "Seconds between audit rounds (default: ${DEFAULT-VALUE}).")
  long auditSeconds;

  @Option(names = "--max-clock-skew-seconds", defaultValue = "300",
      description = "Holder messages further from this clock are refused (default: ${DEFAULT-VALUE}).")
  long skewSeconds;

  private final PrintStream out;

  RepairCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (auditSeconds < 1 || skewSeconds < 1) {
      throw new IllegalArgumentException("intervals must be at least 1 second");
    }
    ScheduledExecutorService audits = Executors.newSingleThreadScheduledExecutor();
    try (Catalog cat = Catalog.open(catalog);
        CoordinatorServer server = CoordinatorServer.start(new InetSocketAddress(bind, port),
            new Membership(cat, InstantSource.system(), Duration.ofSeconds(skewSeconds)))) {
      Auditor auditor = new Auditor(cat, new HolderClient(Duration.ofSeconds(30)), InstantSource.system());
      audits.scheduleWithFixedDelay(() -> {
        try {
          int failed = auditor.auditOnce();
          if (failed > 0) {
            out.println("audit round: " + failed + " holders failed");
          }
        } catch (Exception e) {
          out.println("audit round failed: " + e.getMessage());
        }
      }, auditSeconds, auditSeconds, TimeUnit.SECONDS);
      out.println("coordinator at " + server.endpoint() + " (Ctrl-C to stop)");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      server.awaitClose();
    } finally {
      audits.shutdownNow();
    }
    return 0;
  }
}
