package dev.narvault.cli;

import dev.narvault.core.nix.NixSecretKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads the archive's signing key. Never creates one: a key made on the spot (a worker started in
 * the wrong directory) would sign packs that no gateway trusts. {@code narvault keygen} makes it.
 */
final class ArchiveKeys {
  private ArchiveKeys() {}

  private static final String HOW = "The archive key is made once, with narvault keygen FILE --name "
      + "narvault-archive-1, and the same file given to every migrate worker; its public half (printed by keygen) "
      + "is the --archive-public-key of the drain, the gateway, the coordinator and catalog-rebuild. migrate never "
      + "creates it.";

  /** The key in {@code file} ({@code null}: the option was not given); refused, saying how to make one, if absent. */
  static NixSecretKey load(Path file) throws IOException {
    if (file == null) {
      throw new IllegalArgumentException("--archive-key FILE is required. " + HOW);
    }
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("--archive-key " + file + ": no such file. " + HOW);
    }
    return NixSecretKey.parse(Files.readString(file));
  }
}
