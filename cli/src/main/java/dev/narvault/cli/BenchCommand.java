package dev.narvault.cli;

import picocli.CommandLine.Command;

/** {@code narvault bench}: quick measurements on the user's machine. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    header = "Quick measurements on this machine.",
    description = "Quick measurements on this machine (see the subcommands).")
final class BenchCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
