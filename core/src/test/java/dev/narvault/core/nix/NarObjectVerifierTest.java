package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NarObjectVerifierTest {
  static Stream<Arguments> objects() {
    return NixFixtures.COMPRESSIONS.stream().flatMap(c ->
        Stream.of("srcdir", "big.txt", "withref").map(n -> Arguments.of(c, n)));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("objects")
  void verify_acceptsNixWrittenObjectsAndCopiesThemExactly(String compression, String name) throws IOException {
    NarInfo info = NixFixtures.narInfo(compression, name);
    byte[] stored = Files.readAllBytes(NixFixtures.cache(compression).resolve(info.url()));
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    NarObjectDigest d = NarObjectVerifier.verify(new ByteArrayInputStream(stored), info, copy);
    assertArrayEquals(stored, copy.toByteArray());
    assertEquals(info.fileHash().orElseThrow(), d.fileHash());
    if (compression.equals("zstd")) {
      assertTrue(d.narHash().isEmpty(), "zstd is checked by FileHash only");
    } else {
      assertEquals(info.narHash(), d.narHash().orElseThrow());
      assertEquals(info.narSize(), d.narSize().getAsLong());
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("objects")
  void verify_rejectsAnyFlippedByte(String compression, String name) throws IOException {
    NarInfo info = NixFixtures.narInfo(compression, name);
    byte[] stored = Files.readAllBytes(NixFixtures.cache(compression).resolve(info.url()));
    for (int at : new int[] {0, stored.length / 2, stored.length - 1}) {
      byte[] bad = stored.clone();
      bad[at] ^= 0x10;
      assertThrows(NarVerificationException.class,
          () -> NarObjectVerifier.verify(new ByteArrayInputStream(bad), info, OutputStream.nullOutputStream()),
          compression + " byte " + at);
    }
  }

  @Test
  void verify_rejectsTruncatedXz() throws IOException {
    NarInfo info = NixFixtures.narInfo("xz", "big.txt");
    byte[] stored = Files.readAllBytes(NixFixtures.cache("xz").resolve(info.url()));
    byte[] truncated = Arrays.copyOf(stored, stored.length - 100);
    assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(new ByteArrayInputStream(truncated), info, OutputStream.nullOutputStream()));
  }

  @Test
  void verify_namesTheMismatchingField() throws IOException {
    NarInfo info = NixFixtures.narInfo("none", "srcdir");
    NarInfo lying = NarInfo.parse(info.text().replace("NarSize: " + info.narSize(), "NarSize: 2000"));
    NarVerificationException e;
    try (InputStream in = NixFixtures.narObject("none", info)) {
      e = assertThrows(NarVerificationException.class,
          () -> NarObjectVerifier.verify(in, lying, OutputStream.nullOutputStream()));
    }
    assertTrue(e.getMessage().contains("NarSize") && e.getMessage().contains(info.storePath().toString()), e.getMessage());
  }

  @Test
  void verify_stopsInflatingPastNarSize() throws IOException {
    // A narinfo claiming a tiny NarSize for a large xz NAR: decompression stops at NarSize + 1.
    NarInfo info = NixFixtures.narInfo("xz", "big.txt");
    NarInfo small = NarInfo.parse(info.text().replace("NarSize: " + info.narSize(), "NarSize: 10"));
    try (InputStream in = NixFixtures.narObject("xz", info)) {
      NarVerificationException e = assertThrows(NarVerificationException.class,
          () -> NarObjectVerifier.verify(in, small, OutputStream.nullOutputStream()));
      assertTrue(e.getMessage().contains("NarSize"), e.getMessage());
    }
  }

  @Test
  void verify_requiresFileHash() throws IOException {
    NarInfo info = NixFixtures.narInfo("xz", "srcdir");
    NarInfo noHash = NarInfo.parse(info.text().replaceAll("FileHash: .*\n", ""));
    assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(InputStream.nullInputStream(), noHash, OutputStream.nullOutputStream()));
  }
}
