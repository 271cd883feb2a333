package dev.narvault.cli;

import picocli.CommandLine.Command;

/** {@code narvault access}: what the cache's users request, which decides what is cold. */
@Command(name = "access", mixinStandardHelpOptions = true,
    header = "Request records: what makes a NAR cold is that nobody asked for it lately.",
    description = "Request records in the catalog, from imported request logs and from the gateway: migrate "
        + "--unused-for and promote read them (see the subcommands).")
final class AccessCommand implements Runnable {
  @picocli.CommandLine.Spec
  picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
