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
    assertEquals(info.narHash(), d.narHash().orElseThrow(), "every compression is checked against the signed NarHash");
    assertEquals(info.narSize(), d.narSize().getAsLong());
  }

  /** The NAR of a fixture path, uncompressed. */
  private static byte[] nar(String name) throws IOException {
    NarInfo plain = NixFixtures.narInfo("none", name);
    return Files.readAllBytes(NixFixtures.cache("none").resolve(plain.url()));
  }

  /** A narinfo for {@code stored} as {@code compression}, keeping the signed fields of {@code info}. */
  private static NarInfo describing(NarInfo info, String compression, byte[] stored) {
    Sha256Hash fileHash = Sha256Hash.of(stored);
    return NarInfo.parse(info.text()
        .replaceAll("Compression: .*\n", "Compression: " + compression + "\n")
        .replaceAll("FileHash: .*\n", "FileHash: " + fileHash.toNixString() + "\n")
        .replaceAll("FileSize: .*\n", "FileSize: " + stored.length + "\n"));
  }

  private static byte[] compress(String compression, byte[] nar) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream c = switch (compression) {
      case "bzip2" -> new org.apache.commons.compress.compressors.bzip2.BZip2CompressorOutputStream(out);
      case "zstd" -> new com.github.luben.zstd.ZstdOutputStream(out);
      default -> throw new IllegalArgumentException(compression);
    }) {
      c.write(nar);
    }
    return out.toByteArray();
  }

  @ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"bzip2", "zstd"})
  void verify_checksTheSignedNarHash_evenWhenTheUnsignedFileHashMatches(String compression) throws IOException {
    NarInfo info = NixFixtures.narInfo("none", "srcdir");
    byte[] honest = compress(compression, nar("srcdir"));
    NarObjectDigest ok = NarObjectVerifier.verify(new ByteArrayInputStream(honest),
        describing(info, compression, honest), OutputStream.nullOutputStream());
    assertEquals(info.narHash(), ok.narHash().orElseThrow());
    // Someone with write access to the bucket swaps in other bytes and fixes the unsigned fields.
    byte[] swapped = compress(compression, nar("big.txt"));
    NarInfo forged = describing(info, compression, swapped);
    NarVerificationException e = assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(new ByteArrayInputStream(swapped), forged, OutputStream.nullOutputStream()));
    assertTrue(e.getMessage().contains("NarSize") || e.getMessage().contains("NarHash"), e.getMessage());
    byte[] garbage = Arrays.copyOf(honest, honest.length);
    garbage[garbage.length / 2] ^= 0x55;
    garbage[3] ^= 0x55;
    NarInfo garbageInfo = describing(info, compression, garbage);
    assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(new ByteArrayInputStream(garbage), garbageInfo, OutputStream.nullOutputStream()));
  }

  @Test
  void verify_neverReadsPastFileSize_andRefusesCompressionsItCannotCheck() throws IOException {
    NarInfo info = NixFixtures.narInfo("xz", "srcdir");
    byte[] stored = Files.readAllBytes(NixFixtures.cache("xz").resolve(info.url()));
    byte[] longer = Arrays.copyOf(stored, stored.length + (1 << 20));
    int[] read = {0};
    InputStream counting = new java.io.FilterInputStream(new ByteArrayInputStream(longer)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        read[0] += Math.max(n, 0);
        return n;
      }
    };
    NarVerificationException e = assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(counting, info, OutputStream.nullOutputStream()));
    assertTrue(e.getMessage().contains("longer than its FileSize"), e.getMessage());
    assertTrue(read[0] <= stored.length + 1, read[0] + " bytes read");
    NarInfo brotli = NarInfo.parse(info.text().replace("Compression: xz", "Compression: br"));
    NarVerificationException br = assertThrows(NarVerificationException.class,
        () -> NarObjectVerifier.verify(new ByteArrayInputStream(stored), brotli, OutputStream.nullOutputStream()));
    assertTrue(br.getMessage().contains("cannot be checked"), br.getMessage());
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

  /**
   * The xz decoder this JVM chose (liblzma, or xz-java under -Dnarvault.xz=java: the pom runs
   * this class both ways) rejects damaged objects as the object's fault, naming what is wrong.
   */
  @Test
  void digest_rejectsDamagedXz_asNarVerificationException() throws IOException {
    byte[] nar = LiblzmaInputStreamTest.textLike(new java.util.Random(7), 300_000);
    byte[] xz = LiblzmaInputStreamTest.xz(nar);
    byte[] twoStreams = LiblzmaInputStreamTest.concat(xz, new byte[8], LiblzmaInputStreamTest.xz(nar));
    NarObjectDigest whole = digestXz(twoStreams);
    assertEquals(2L * nar.length, whole.narSize().getAsLong(), "concatenated streams and padding");

    byte[] flipped = xz.clone();
    flipped[xz.length / 2] ^= 0x04;
    byte[] garbage = LiblzmaInputStreamTest.concat(xz, "not xz".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    byte[] huge = LiblzmaInputStreamTest.withDictionaryByte(xz, 34); // a 512 MiB dictionary
    assertRejected(flipped, "xz stream is corrupt");
    assertRejected(garbage, "xz stream is");
    assertRejected(Arrays.copyOf(xz, xz.length - 10), "xz stream is truncated");
    assertRejected(Arrays.copyOf(xz, 5), "xz stream is truncated");
    assertRejected(LiblzmaInputStreamTest.concat(xz, new byte[2]), "xz stream is truncated");
    assertRejected(huge, "needs more than " + NarObjectVerifier.XZ_MEMORY_LIMIT_KIB + " KiB");
    assertRejected(nar, "xz stream is corrupt");
  }

  private static NarObjectDigest digestXz(byte[] stored) throws IOException {
    return NarObjectVerifier.digest(new ByteArrayInputStream(stored), "xz", 10L << 20, stored.length + 1,
        OutputStream.nullOutputStream());
  }

  private static void assertRejected(byte[] stored, String message) {
    NarVerificationException e = assertThrows(NarVerificationException.class, () -> digestXz(stored));
    assertTrue(e.getMessage().contains(message), e.getMessage());
  }
}
