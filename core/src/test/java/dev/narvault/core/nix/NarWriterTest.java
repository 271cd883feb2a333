package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NarWriterTest {
  /** The tree regenerate.sh gives to {@code nix-store --add} as "srcdir". */
  static NarNode srcdirTree() {
    return NarNode.directory(Map.of(
        "hello.txt", NarNode.file("hello from narvault\n".getBytes(StandardCharsets.UTF_8)),
        "sub", NarNode.directory(Map.of(
            "run.sh", NarNode.executable("#!/bin/sh\necho run\n".getBytes(StandardCharsets.UTF_8)))),
        "link", new NarNode.Symlink("hello.txt"),
        "empty", NarNode.file(new byte[0])));
  }

  static byte[] nar(NarNode node) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NarWriter.write(node, out);
    return out.toByteArray();
  }

  @Test
  void write_producesTheExactNarNixProducedForTheSameTree() throws IOException {
    NarInfo info = NixFixtures.narInfo("none", "srcdir");
    byte[] nixNar = Files.readAllBytes(NixFixtures.cache("none").resolve(info.url()));
    assertArrayEquals(nixNar, nar(srcdirTree()));
    assertEquals(info.narHash(), Sha256Hash.of(nar(srcdirTree())));
  }

  @Test
  void fromPath_readsADirectoryTreeLikeNixStoreAdd(@TempDir Path dir) throws IOException {
    Path root = dir.resolve("srcdir");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("hello.txt"), "hello from narvault\n");
    Path run = Files.writeString(root.resolve("sub/run.sh"), "#!/bin/sh\necho run\n");
    Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(root.resolve("link"), Path.of("hello.txt"));
    Files.createFile(root.resolve("empty"));
    assertArrayEquals(nar(srcdirTree()), nar(NarWriter.fromPath(root)));
  }

  @Test
  void write_singleFileMatchesNixForBigFixture() throws IOException {
    NarInfo info = NixFixtures.narInfo("none", "big.txt");
    byte[] nixNar = Files.readAllBytes(NixFixtures.cache("none").resolve(info.url()));
    // Rebuild big.txt exactly as regenerate.sh writes it.
    StringBuilder text = new StringBuilder();
    for (int i = 1; i <= 4000; i++) {
      text.append(String.format("line %05d of the big fixture %d%n", i, i * 7919 % 10007));
    }
    assertArrayEquals(nixNar, nar(NarNode.file(text.toString().getBytes(StandardCharsets.UTF_8))));
  }

  @Test
  void directory_rejectsNamesNixRejects() {
    for (String bad : new String[] {"", ".", "..", "a/b", "a\0b"}) {
      assertThrows(IllegalArgumentException.class, () -> NarNode.directory(Map.of(bad, NarNode.file(new byte[0]))), bad);
    }
  }

  @Test
  void write_failsWhenAFileIsShorterThanDeclared() {
    NarNode lying = new NarNode.Regular(false, 10, () -> new ByteArrayInputStream(new byte[5]));
    assertThrows(IOException.class, () -> nar(lying));
  }
}
