package dev.narvault.cli;

import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.time.InstantSource;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code narvault holder-exit}: a holder leaves gracefully. */
@Command(name = "holder-exit", mixinStandardHelpOptions = true,
    header = "Tell the coordinator a holder is leaving, so its fragments are moved first.",
    description = {"Announces, signed with the holder's identity key from its data directory, that the holder is "
            + "leaving. The coordinator stops placing fragments there and repair copies its fragments to other "
            + "holders while it keeps running. Run it again to see how many fragments are still to move; at 0 "
            + "the holder may stop for good.",
        ""})
final class HolderExitCommand implements Callable<Integer> {
  @Mixin
  HolderCoordinatorOptions holder;

  private final PrintStream out;

  HolderExitCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    out.println(HolderServer.announceExit(holder.dataDir, holder.coordinator, InstantSource.system()));
    return 0;
  }
}
