package dev.narvault.cli;

import java.net.URI;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of a command that speaks for a holder to its coordinator, beside the running
 * holder: the data directory whose identity key signs, and the coordinator's URL.
 */
final class HolderCoordinatorOptions {
  @Option(names = "--data-dir", required = true, description = "The holder's data directory (with identity.key).")
  Path dataDir;

  @Option(names = "--coordinator", required = true, paramLabel = "URL", description = "The coordinator's URL.")
  URI coordinator;
}
