package dev.narvault.cli;

import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault holder}: serve fragments from a local directory. */
@Command(name = "holder", mixinStandardHelpOptions = true,
    description = {"Runs a holder: stores fragments in a directory, within a capacity, and serves them",
        "over HTTP (PUT, GET with Range, HEAD on /v1/fragments/{id}; GET /v1/status).",
        "Every upload is checked against its fragment id and written atomically."})
final class HolderCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "7070", description = "TCP port (default: ${DEFAULT-VALUE}; 0 = any free).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--data-dir", required = true, description = "Directory for fragments (created if missing).")
  Path dataDir;

  @Option(names = "--capacity", defaultValue = "10GiB", converter = ByteSize.class,
      description = "Most fragment bytes to store (default: ${DEFAULT-VALUE}).")
  long capacity;

  private final PrintStream out;

  HolderCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    HolderConfig config = new HolderConfig(new InetSocketAddress(bind, port), dataDir, capacity);
    try (HolderServer server = HolderServer.start(config)) {
      out.println("holder serving " + dataDir + " at " + server.endpoint() + " (Ctrl-C to stop)");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      server.awaitClose();
    }
    return 0;
  }
}
