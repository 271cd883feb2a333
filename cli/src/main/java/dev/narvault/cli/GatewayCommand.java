package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.core.archive.Archive;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault gateway}: a Nix substituter over the archive, with S3 behind it. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
    header = "Serve the archive to Nix as an HTTP binary cache.",
    description = {"Serves the archive to Nix as an HTTP binary cache: nix-cache-info, <hash>.narinfo and",
        "nar/<file>. Archived NARs are rebuilt from holders, every byte verified; anything not",
        "archived (or not rebuildable right now) is proxied from the S3 cache."})
final class GatewayCommand implements Callable<Integer> {
  @Mixin
  S3Options s3;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Option(names = "--port", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--priority", defaultValue = "50",
      description = "Priority in nix-cache-info; above cache.nixos.org's 40 by default (default: ${DEFAULT-VALUE}).")
  int priority;

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "Check each pack manifest's signature with this key.")
  String archivePublicKey;

  private final PrintStream out;

  GatewayCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    GatewayConfig config = new GatewayConfig(new InetSocketAddress(bind, port), priority);
    Optional<TrustedKeys> keys = Optional.ofNullable(archivePublicKey).map(k -> TrustedKeys.of(NixPublicKey.parse(k)));
    try (Catalog cat = Catalog.open(catalog); S3ObjectSource objects = new S3ObjectSource(s3.toConfig());
        GatewayServer server = GatewayServer.start(config,
            new Archive(cat, new HolderClient(Duration.ofSeconds(10)), keys), objects)) {
      out.println("gateway serving at " + server.endpoint() + " (Ctrl-C to stop)");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      server.awaitClose();
    }
    return 0;
  }
}
