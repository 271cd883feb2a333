package dev.narvault.cli;

import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault holder-exit}: a holder leaves gracefully. */
@Command(name = "holder-exit", mixinStandardHelpOptions = true,
    header = "Tell the coordinator a holder is leaving, so its fragments are moved first.",
    description = {"Announces, signed with the holder's identity key from its data directory, that the holder is "
            + "leaving. The coordinator stops placing fragments there and repair copies its fragments to other "
            + "holders while it keeps running. Run it again to see how many fragments are still to move; at 0 "
            + "the holder may stop for good.",
        ""})
final class HolderExitCommand implements Callable<Integer> {
  @Option(names = "--data-dir", required = true, description = "The holder's data directory (with identity.key).")
  Path dataDir;

  @Option(names = "--coordinator", required = true, paramLabel = "URL", description = "The coordinator's URL.")
  URI coordinator;

  private final PrintStream out;

  HolderExitCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    out.println(HolderServer.announceExit(dataDir, coordinator, InstantSource.system()));
    return 0;
  }
}
