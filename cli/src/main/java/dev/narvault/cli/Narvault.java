package dev.narvault.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The root command; each role of narvault is a subcommand. */
@Command(
    name = "narvault",
    mixinStandardHelpOptions = true,
    versionProvider = Narvault.Version.class,
    description = {
        "Erasure-coded archive for the cold NARs of a Nix binary cache.",
        "",
        "Subcommands arrive as the roles are built: migrate (encoder), holder, repair, gateway",
        "and quickstart. See README.md."
    },
    subcommands = {CommandLine.HelpCommand.class})
public final class Narvault implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Narvault()).execute(args));
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Reads the version from the jar manifest, or says it is a development build. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Narvault.class.getPackage().getImplementationVersion();
      return new String[] {"narvault " + (v == null ? "(development build)" : v)};
    }
  }
}
