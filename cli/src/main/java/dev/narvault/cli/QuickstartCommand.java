package dev.narvault.cli;

import dev.narvault.cli.quickstart.Quickstart;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault quickstart}: everything on loopback in one process. */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
    header = "The whole system on loopback: S3, coordinator, holders, migrate, repair, gateway (try --check).",
    description = {"Runs the whole system on loopback in one process: an embedded S3 server seeded with a generated, "
            + "signed binary cache (~200 MiB of NARs), a coordinator with repair on, N holders (each on its own "
            + "127.N.0.1, so no two share a /16), a migration with RS(k,m); then stops m holders, waits for "
            + "repair to rebuild their fragments onto the others, and serves the archive as a Nix substituter "
            + "until Ctrl-C. With --check it instead stops m more holders, fetches every NAR through the "
            + "gateway, verifies each FileHash and exits 0 only if all verify.",
        ""})
final class QuickstartCommand implements Callable<Integer> {
  @Option(names = "--holders", defaultValue = "18",
      description = "Holders to start, at least k+m+m: repair needs room (default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--k", defaultValue = "10", description = "Data fragments per pack (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--m", defaultValue = "4", description = "Parity fragments per pack (default: ${DEFAULT-VALUE}).")
  int m;

  @Option(names = "--port", defaultValue = "8080", description = "Gateway port (default: ${DEFAULT-VALUE}; 0 = any).")
  int port;

  @Option(names = "--paths", defaultValue = "240", description = "Small paths to generate, besides 3 large ones (default: ${DEFAULT-VALUE}).")
  int paths;

  @Option(names = "--pack-size", defaultValue = "64MiB", converter = ByteSize.class,
      description = "Target pack size (default: ${DEFAULT-VALUE}).")
  long packSize;

  @Option(names = "--dir", description = "Where to keep everything (default: a fresh temporary directory).")
  Path dir;

  @Option(names = "--check", description = "Verify every NAR through the gateway, then exit.")
  boolean check;

  private final PrintStream out;

  QuickstartCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (k < 1 || m < 1 || k + m > 256) {
      throw new IllegalArgumentException("need --k >= 1, --m >= 1 and k + m <= 256, got k=" + k + " m=" + m);
    }
    if (holders < k + 2 * m || holders > 250) {
      throw new IllegalArgumentException("--holders must be k+2m = " + (k + 2 * m)
          + " to 250 (m stop and repair must place their fragments elsewhere), got " + holders);
    }
    if (paths < 3) {
      throw new IllegalArgumentException("--paths must be at least 3, got " + paths);
    }
    Path where = dir != null ? dir : Files.createTempDirectory("narvault-quickstart-");
    Quickstart.Settings settings = new Quickstart.Settings(where, holders, k, m, port, paths, packSize);
    Quickstart quickstart = new Quickstart(settings, out);
    try {
      quickstart.start();
      if (check) {
        return quickstart.check() == 0 ? 0 : 1;
      }
      Runtime.getRuntime().addShutdownHook(new Thread(quickstart::close));
      out.println("serving until Ctrl-C");
      quickstart.gateway().awaitClose();
      return 0;
    } finally {
      quickstart.close();
    }
  }
}
