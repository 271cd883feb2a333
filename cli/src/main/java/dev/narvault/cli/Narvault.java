package dev.narvault.cli;

import java.io.PrintStream;
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
        "Start with 'narvault quickstart'. See README.md."
    },
    subcommands = {CommandLine.HelpCommand.class})
public final class Narvault implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /**
   * Idle connections each {@code java.net.http.HttpClient} in this process keeps, and for how long
   * (seconds). A coordinator proves and audits 10^4 holders, each a host of its own: the JDK's
   * unbounded keep-alive cache kept a socket and its buffers for every one of them (a coordinator
   * with -Xmx256m ran out of memory at 10^4 holders in {@code bench coordinator}). Set before any
   * client exists: the JDK reads both once. An operator's own {@code -D} setting wins.
   */
  static final String POOL_SIZE = "64";
  static final String KEEP_ALIVE_SECONDS = "30";

  public static void main(String[] args) {
    if (System.getProperty("jdk.httpclient.connectionPoolSize") == null) {
      System.setProperty("jdk.httpclient.connectionPoolSize", POOL_SIZE);
    }
    if (System.getProperty("jdk.httpclient.keepalive.timeout") == null) {
      System.setProperty("jdk.httpclient.keepalive.timeout", KEEP_ALIVE_SECONDS);
    }
    CommandLine cli = commandLine(System.out);
    String[] expanded;
    try {
      expanded = ConfigFile.expand(args);
    } catch (IllegalArgumentException e) {
      cli.getErr().println("narvault: " + e.getMessage());
      System.exit(2);
      return;
    }
    System.exit(cli.execute(expanded));
  }

  /** The command tree; subcommands print to {@code out}. Errors print their message, not a trace. */
  public static CommandLine commandLine(PrintStream out) {
    CommandLine cli = new CommandLine(new Narvault());
    cli.addSubcommand(new QuickstartCommand(out));
    cli.addSubcommand(new MigrateCommand(out));
    cli.addSubcommand(new CommandLine(new AccessCommand())
        .addSubcommand(new AccessImportCommand(out))
        .addSubcommand(new AccessShowCommand(out)));
    cli.addSubcommand(new PromoteCommand(out));
    cli.addSubcommand(new RestoreCommand(out));
    cli.addSubcommand(new HolderCommand(out));
    cli.addSubcommand(new HolderExitCommand(out));
    cli.addSubcommand(new HolderStatusCommand(out));
    cli.addSubcommand(new HolderAwayCommand(out));
    cli.addSubcommand(new GatewayCommand(out));
    cli.addSubcommand(new RepairCommand(out));
    cli.addSubcommand(new CatalogRebuildCommand(out));
    cli.addSubcommand(new KeygenCommand(out));
    cli.addSubcommand(new SimulateCommand(out));
    cli.addSubcommand(new CommandLine(new BenchCommand())
        .addSubcommand(new BenchCodecCommand(out))
        .addSubcommand(new BenchMigrateCommand(out))
        .addSubcommand(new BenchGatewayCommand(out))
        .addSubcommand(new BenchCatalogCommand(out))
        .addSubcommand(new BenchCoordinatorCommand(out))
        .addSubcommand(new BenchRebuildCommand(out)));
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      commandLine.getErr().println("narvault: " + e.getMessage());
      return e instanceof IllegalArgumentException ? 2 : 1;
    });
    return cli;
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
