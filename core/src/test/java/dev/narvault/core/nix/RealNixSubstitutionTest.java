package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/**
 * narinfos that narvault writes and signs are accepted by the real Nix client: it substitutes a
 * closure of two paths (one referring to the other) from a file:// binary cache narvault made.
 * Runs where {@code nix-store} is installed; {@code .ci/run} installs it.
 */
class RealNixSubstitutionTest {

  /** Writes one path into a file:// binary cache the way Nix lays one out. */
  static StorePath publish(Path cache, NixSecretKey key, String name, NarNode tree, List<StorePath> refs)
      throws IOException {
    ByteArrayOutputStream nar = new ByteArrayOutputStream();
    NarWriter.write(tree, nar);
    byte[] narBytes = nar.toByteArray();
    Sha256Hash narHash = Sha256Hash.of(narBytes);
    StorePath path = StorePath.makeSourcePath(name, narHash, refs);
    ByteArrayOutputStream xz = new ByteArrayOutputStream();
    try (XZOutputStream out = new XZOutputStream(xz, new LZMA2Options(1))) {
      out.write(narBytes);
    }
    Sha256Hash fileHash = Sha256Hash.of(xz.toByteArray());
    String url = "nar/" + fileHash.toNix32() + ".nar.xz";
    Files.createDirectories(cache.resolve("nar"));
    Files.write(cache.resolve(url), xz.toByteArray());
    NarInfo info = key.sign(NarInfo.create(path, url, "xz", fileHash, xz.size(), narHash, narBytes.length, refs));
    Files.write(cache.resolve(path.hashPart() + ".narinfo"), info.toBytes());
    Files.writeString(cache.resolve("nix-cache-info"), "StoreDir: /nix/store\n");
    return path;
  }

  @Test
  void realNix_substitutesPathsNarvaultSigned(@TempDir Path dir) throws Exception {
    assumeTrue(RealNix.available(), "nix-store is not installed");
    NixSecretKey key = NixSecretKey.generate("narvault-test-1", new SecureRandom());
    String unique = UUID.randomUUID().toString();
    Path cache = dir.resolve("cache");
    StorePath lib = publish(cache, key, "lib-" + unique.substring(0, 8), NarNode.directory(Map.of(
        "data.txt", NarNode.file(("library " + unique + "\n").getBytes(StandardCharsets.UTF_8)),
        "bin", NarNode.directory(Map.of("tool", NarNode.executable("#!/bin/sh\n".getBytes(StandardCharsets.UTF_8)))))),
        List.of());
    StorePath app = publish(cache, key, "app-" + unique.substring(0, 8),
        NarNode.file(("uses " + lib + "\n").getBytes(StandardCharsets.UTF_8)), List.of(lib));
    try {
      RealNix.Result result = RealNix.realise("file://" + cache, key.publicKey(), List.of(app));
      assertEquals(0, result.exitCode(), result.output());
      assertEquals("uses " + lib + "\n", Files.readString(Path.of(app.toString())));
      assertEquals("library " + unique + "\n", Files.readString(Path.of(lib.toString(), "data.txt")));
      assertTrue(Files.isExecutable(Path.of(lib.toString(), "bin/tool")));
    } finally {
      RealNix.delete(List.of(lib, app));
    }
  }

  @Test
  void realNix_refusesNarinfoSignedByAnUntrustedKey(@TempDir Path dir) throws Exception {
    assumeTrue(RealNix.available(), "nix-store is not installed");
    NixSecretKey signer = NixSecretKey.generate("narvault-test-1", new SecureRandom());
    NixSecretKey trusted = NixSecretKey.generate("narvault-test-1", new SecureRandom());
    StorePath path = publish(dir, signer, "untrusted-" + UUID.randomUUID().toString().substring(0, 8),
        NarNode.file(UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8)), List.of());
    try {
      RealNix.Result result = RealNix.realise("file://" + dir, trusted.publicKey(), List.of(path));
      assertNotEquals(0, result.exitCode(), result.output());
      assertTrue(Files.notExists(Path.of(path.toString())));
    } finally {
      RealNix.delete(List.of(path));
    }
  }
}
