package dev.narvault.cli;

import dev.narvault.core.nix.NixSecretKey;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;

/** Loads the archive's signing key, creating it (mode 0600) on first use. */
final class ArchiveKeys {
  private ArchiveKeys() {}

  static NixSecretKey loadOrCreate(Path file, String name, PrintStream out) throws IOException {
    if (Files.exists(file)) {
      return NixSecretKey.parse(Files.readString(file));
    }
    NixSecretKey key = NixSecretKey.generate(name, new SecureRandom());
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path tmp = Files.createTempFile(parent, ".archive-key", ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, key.toFileContents() + "\n");
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    out.println("created archive key " + file + "; public key: " + key.publicKey());
    return key;
  }
}
