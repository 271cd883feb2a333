package dev.narvault.cli;

import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.holder.server.CoordinatorKeys;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault holder}: serve fragments from a local directory. */
@Command(name = "holder", mixinStandardHelpOptions = true,
    header = "Run a holder: store and serve fragments for the archive.",
    description = {"Runs a holder: stores fragments in a directory within a capacity, and serves them over HTTP "
        + "within an upload-speed cap and, if set, a monthly upload quota. Writes and deletes need an order "
        + "signed by the coordinator; every upload is checked against its fragment id and written atomically; a "
        + "background scrub re-hashes what is stored and quarantines (and reports) anything that rotted. Deleted "
        + "fragments stay in a trash for --trash-for, restorable with a signed order, in space no fragment needs.",
        "",
        "The holder's identity key is created in the data directory on first start. Bound to a wildcard "
        + "address (0.0.0.0) without --advertise, it advertises the address the coordinator sees it at; a "
        + "holder the coordinator refuses before it ever joined (an address it will not accept, an endpoint "
        + "it cannot reach) stops and exits " + HolderCommand.REFUSED + " (EX_CONFIG), saying why.",
        ""})
final class HolderCommand implements Callable<Integer> {
  @picocli.CommandLine.Mixin
  ConfigFile.Mixin config;

  /** Exit status of a holder the coordinator refused before it ever joined: sysexits' EX_CONFIG. */
  static final int REFUSED = 78;

  @Option(names = "--port", defaultValue = "7070", description = "TCP port (default: ${DEFAULT-VALUE}; 0 = any free).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--data-dir", required = true, description = "Directory for fragments and the identity key.")
  Path dataDir;

  @Option(names = "--capacity", defaultValue = "10GiB", converter = ByteSize.class,
      description = "Most fragment bytes to store (default: ${DEFAULT-VALUE}).")
  long capacity;

  @Option(names = "--coordinator-public-key", required = true, paramLabel = "NAME:BASE64",
      description = "The coordinator's key: only orders signed by one of these keys (or by a retired key before "
          + "its date) may write or delete fragments; repeatable, e.g. the next key ahead of a rotation.")
  List<String> coordinatorKeys;

  @Option(names = "--retired-coordinator-public-key", paramLabel = "NAME:BASE64@DATE",
      description = "A coordinator key being retired: its orders are accepted until DATE (YYYY-MM-DD, from the "
          + "start of that day in UTC on, or an ISO-8601 instant such as 2027-01-31T12:00:00Z) and refused from "
          + "then on; repeatable. See docs/operations.md, Rotating keys.")
  List<String> retiredCoordinatorKeys = List.of();

  @Option(names = "--coordinator", paramLabel = "URL",
      description = "Coordinator to register with and send heartbeats and scrub reports to.")
  URI coordinator;

  @Option(names = "--advertise", paramLabel = "URL", description = "URL others reach this holder at (default: "
      + "the bound address; bound to a wildcard address, the address the coordinator sees this holder at).")
  URI advertise;

  @Option(names = "--max-upload-speed", defaultValue = "0", converter = ByteSize.class,
      description = "Cap on bytes/s sent to all clients together, e.g. 10MiB (default: no cap).")
  long maxUpload;

  @Option(names = "--max-upload-per-month", defaultValue = "0", converter = ByteSize.class, paramLabel = "SIZE",
      description = "Monthly upload quota: the most fragment bytes served to clients in a calendar month (UTC), "
          + "e.g. 500GiB. A read that would pass it is refused with 503 and Retry-After until the next month; "
          + "the coordinator's audits are neither counted nor refused. The month's count is kept in the data "
          + "directory across restarts (default: 0, no quota).")
  long maxUploadPerMonth;

  @Option(names = "--max-download-speed", defaultValue = "0", converter = ByteSize.class,
      description = "Cap on bytes/s received for uploads (default: no cap).")
  long maxDownload;

  @Option(names = "--scrub-speed", defaultValue = "64MiB", converter = ByteSize.class,
      description = "The fastest the scrubber re-reads, in bytes/s: each pass goes at the least speed that "
          + "finishes it within 80%% of --scrub-interval-hours, at least 256KiB/s (default: ${DEFAULT-VALUE}).")
  long scrubSpeed;

  @Option(names = "--scrub-interval-hours", defaultValue = "24", description = "Hours from the start of one scrub pass to the next (default: ${DEFAULT-VALUE}).")
  long scrubHours;

  @Option(names = "--heartbeat-seconds", defaultValue = "30", description = "Seconds between heartbeats (default: ${DEFAULT-VALUE}).")
  long heartbeatSeconds;

  @Option(names = "--trash-for", defaultValue = "7d", converter = DurationConverter.class, paramLabel = "DURATION",
      description = "How long deleted fragments stay in the trash, restorable, e.g. 7d or 12h (default: "
          + "${DEFAULT-VALUE}; 0 = delete at once). The trash uses only room no new fragment needs.")
  Duration trashFor;

  @Option(names = "--dashboard-port", defaultValue = "7071",
      description = "Port of the volunteer's dashboard, a page of what this holder stores, serves and how the "
          + "coordinator rates it; 0 = no dashboard (default: ${DEFAULT-VALUE}).")
  int dashboardPort;

  @Option(names = "--dashboard-bind", defaultValue = "127.0.0.1",
      description = "Address the dashboard listens on: loopback by default, so only this machine sees it "
          + "(default: ${DEFAULT-VALUE}).")
  String dashboardBind;

  @Option(names = "--operator", defaultValue = "", description = "Who runs this holder (placement keeps one operator's holders apart).")
  String operator;

  @Option(names = "--location", defaultValue = "", description = "Where it runs, free text (e.g. country).")
  String location;

  private final PrintStream out;

  HolderCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    CoordinatorKeys keys = new CoordinatorKeys(coordinatorKeys.stream().map(NixPublicKey::parse).toList(),
        retiredCoordinatorKeys.stream().map(CoordinatorKeys.Retired::parse).toList());
    HolderConfig config = HolderConfig.of(new InetSocketAddress(bind, port), dataDir, capacity, keys)
        .withSpeeds(maxUpload, maxDownload)
        .withUploadQuota(maxUploadPerMonth)
        .withScrub(scrubSpeed, Duration.ofHours(scrubHours))
        .withHeartbeat(Duration.ofSeconds(heartbeatSeconds))
        .withTrashFor(trashFor)
        .withDescription(Optional.ofNullable(advertise), operator, location)
        .withDashboard(dashboardPort == 0 ? Optional.empty()
            : Optional.of(new InetSocketAddress(dashboardBind, dashboardPort)));
    if (coordinator != null) {
      config = config.withCoordinator(coordinator);
    }
    try (HolderServer server = HolderServer.start(config)) {
      out.println("holder " + server.holderId() + " serving " + dataDir + " on " + server.address()
          + server.dashboardEndpoint().map(u -> ", dashboard at " + u).orElse("") + " (Ctrl-C to stop)");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      server.awaitClose();
      if (server.failure().isPresent()) {
        // Refused for good before it ever joined: a unit manager sees the failure, not a holder
        // that looks alive and never will be.
        System.err.println("narvault: " + server.failure().get());
        return REFUSED;
      }
    }
    return 0;
  }
}
