package dev.narvault.cli;

import dev.narvault.core.nix.NixSecretKey;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code narvault keygen}: an Ed25519 key pair in Nix's format (archive or coordinator key). */
@Command(name = "keygen", mixinStandardHelpOptions = true,
    header = "Create an Ed25519 key in Nix's format.",
    description = {"Writes a new Ed25519 secret key in Nix's format (mode 0600) and prints its public key.",
        "Use it for the coordinator key (holders trust its orders) or the archive key (signs manifests)."})
final class KeygenCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "Secret key file to create (must not exist).")
  Path file;

  @Option(names = "--name", defaultValue = "narvault-coordinator-1", description = "Key name (default: ${DEFAULT-VALUE}).")
  String name;

  private final PrintStream out;

  KeygenCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (Files.exists(file)) {
      throw new IllegalArgumentException(file + " exists: refusing to overwrite a key");
    }
    NixSecretKey key = NixSecretKey.generate(name, new SecureRandom());
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, key.toFileContents() + "\n");
    out.println(key.publicKey());
    return 0;
  }
}
