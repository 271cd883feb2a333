package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.ARM64Options;
import org.tukaani.xz.ARMOptions;
import org.tukaani.xz.DeltaOptions;
import org.tukaani.xz.FilterOptions;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.MemoryLimitException;
import org.tukaani.xz.PowerPCOptions;
import org.tukaani.xz.X86Options;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * {@link LiblzmaInputStream} against xz-java's {@link XZInputStream}, the decoder it replaces:
 * for every input both give the same bytes, or both fail the same way (memory limit, truncated,
 * corrupt). Inputs are generated from a printed seed.
 */
class LiblzmaInputStreamTest {
  private static final int LIMIT_KIB = NarObjectVerifier.XZ_MEMORY_LIMIT_KIB;
  private static final long SEED = System.nanoTime();
  private static final int[] CHECKS = {XZ.CHECK_NONE, XZ.CHECK_CRC32, XZ.CHECK_CRC64, XZ.CHECK_SHA256};

  @BeforeAll
  static void liblzmaLoads() {
    System.out.println("LiblzmaInputStreamTest seed " + SEED);
    // Every Debian/Ubuntu machine has liblzma.so.5 (xz-utils): there it must load, or the fast
    // path would be silently lost. Elsewhere the fallback is all there is to test.
    boolean linux = System.getProperty("os.name").startsWith("Linux");
    if (linux) {
      assertNull(Liblzma.UNAVAILABLE, "liblzma should load on Linux");
    }
    assumeTrue(Liblzma.UNAVAILABLE == null, "liblzma cannot be loaded here: " + Liblzma.UNAVAILABLE);
  }

  /**
   * What reading a whole stream gave: its bytes, or the kind of failure. Truncated and corrupt
   * input are one kind (both rejected as the object's fault, NarVerificationException): on some
   * damaged inputs one decoder notices a bad length before the input ends and the other after.
   */
  private record Outcome(byte[] bytes, String failure) {
    static Outcome of(Exception e) {
      return new Outcome(null, e instanceof MemoryLimitException ? "memory limit"
          : e instanceof EOFException ? "truncated"
          : e instanceof IOException ? "corrupt"
          : e.toString());
    }

    String kind() {
      return failure == null ? null : failure.equals("truncated") || failure.equals("corrupt") ? "rejected" : failure;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Outcome other && Arrays.equals(bytes, other.bytes)
          && java.util.Objects.equals(kind(), other.kind());
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return bytes != null ? bytes.length + " bytes" : failure;
    }
  }

  private static Outcome decode(boolean liblzma, byte[] xz, Random reads) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = liblzma
        ? new LiblzmaInputStream(new ByteArrayInputStream(xz), LIMIT_KIB)
        : new XZInputStream(new ByteArrayInputStream(xz), LIMIT_KIB)) {
      byte[] buf = new byte[200_000];
      int n;
      // Reads of every size, from one byte to more than the native buffer.
      while ((n = in.read(buf, 7, 1 + reads.nextInt(reads.nextBoolean() ? 16 : buf.length - 7))) != -1) {
        out.write(buf, 7, n);
      }
      return new Outcome(out.toByteArray(), null);
    } catch (Exception e) {
      return Outcome.of(e);
    }
  }

  private static Outcome assertSameOutcome(byte[] xz, String what) {
    long readSeed = Arrays.hashCode(xz);
    Outcome java = decode(false, xz, new Random(readSeed));
    Outcome liblzma = decode(true, xz, new Random(readSeed + 1));
    assertEquals(java, liblzma, what + " (seed " + SEED + ")");

    return java;
  }

  static byte[] xz(byte[] data, LZMA2Options options, int check) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (XZOutputStream xz = new XZOutputStream(out, options, check)) {
      xz.write(data);
    }
    return out.toByteArray();
  }

  static byte[] xz(byte[] data) throws IOException {
    return xz(data, new LZMA2Options(0), XZ.CHECK_CRC64);
  }

  /**
   * Rewrites the LZMA2 dictionary size of the first block's header (its one filter, as xz-java
   * writes it) and the header's CRC32: a dictionary larger than needed decodes the same bytes.
   */
  static byte[] withDictionaryByte(byte[] xz, int dictionaryByte) {
    byte[] out = xz.clone();
    int header = 12;
    int headerSize = ((out[header] & 0xff) + 1) * 4;
    assertEquals(0x21, out[header + 2], "the first filter is LZMA2");
    out[header + 4] = (byte) dictionaryByte;
    putCrc32(out, header, headerSize - 4, header + headerSize - 4);
    return out;
  }

  static byte[] random(Random random, int size) {
    byte[] b = new byte[size];
    random.nextBytes(b);
    return b;
  }

  /** Text with repeats near and far, as most of a NAR is. */
  static byte[] textLike(Random random, int size) {
    String[] words = {"/nix/store/", "lib", "share", "bin", "-2.41", ".so", "\n", " ", "int", "return",
        "glibc", "const char *", "0123456789abcdfghijklmnpqrsvwxyz", "#include <stdio.h>\n", "{\n  "};
    ByteArrayOutputStream out = new ByteArrayOutputStream(size + 64);
    while (out.size() < size) {
      out.writeBytes(words[random.nextInt(words.length)].getBytes(StandardCharsets.US_ASCII));
      if (random.nextInt(50) == 0) {
        out.writeBytes(random(random, random.nextInt(40)));
      }
    }
    return Arrays.copyOf(out.toByteArray(), size);
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  @Test
  void decodes_likeXzJava_overSizesPresetsAndChecks() throws IOException {
    Random random = new Random(SEED);
    int[] sizes = {0, 1, 100, 65_535, 65_536, 65_537, 300_000, 3 << 20};
    for (int size : sizes) {
      for (boolean text : new boolean[] {false, true}) {
        byte[] data = text ? textLike(random, size) : random(random, size);
        for (int preset : new int[] {0, 6, 9}) {
          for (int check : CHECKS) {
            if (size > 1 << 20 && check != CHECKS[(preset + (text ? 1 : 0)) % CHECKS.length]) {
              continue; // encoding MiBs in Java is slow: one check per preset and kind
            }
            // Preset 9's encoder needs 674 MiB; it is encoded with a 1 MiB dictionary and its
            // 64 MiB one written into the header, which is all a decoder sees of the preset.
            LZMA2Options options = new LZMA2Options(preset);
            if (preset == 9) {
              options.setDictSize(1 << 20);
            }
            byte[] xz = xz(data, options, check);
            if (preset == 9 && size > 0) {
              xz = withDictionaryByte(xz, 28); // 2 << (28 / 2 + 11) = 64 MiB
            }
            Outcome o = assertSameOutcome(xz,
                size + " bytes, text " + text + ", preset " + preset + ", check " + check);
            assertArrayEquals(data, o.bytes(), "decodes to what was encoded");
          }
        }
      }
    }
  }

  @Test
  void decodes_concatenatedStreamsAndPadding_likeXzJava() throws IOException {
    Random random = new Random(SEED + 1);
    byte[] a = xz(textLike(random, 70_000));
    byte[] b = xz(random(random, 1000), new LZMA2Options(6), XZ.CHECK_SHA256);
    byte[] empty = xz(new byte[0]);
    for (int padding = 0; padding <= 12; padding++) {
      byte[] zeros = new byte[padding];
      assertSameOutcome(concat(a, zeros), "padding " + padding + " at the end");
      assertSameOutcome(concat(a, zeros, b), "padding " + padding + " between two streams");
      assertSameOutcome(concat(a, zeros, empty, zeros, b, zeros), "an empty stream among padding " + padding);
      assertSameOutcome(concat(zeros, a), "padding " + padding + " before the first stream");
    }
    Outcome three = assertSameOutcome(concat(a, b, a, new byte[4]), "three streams");
    assertEquals(140_000 + 1000, three.bytes().length);
  }

  @Test
  void decodes_filterChains_likeXzJava() throws IOException {
    // Nix writes LZMA2 alone; xz(1) users may add a branch filter or delta. (liblzma before 5.6
    // lacks the RISC-V filter xz-java has: such a stream would be rejected, so it is not here.)
    Random random = new Random(SEED + 10);
    byte[] data = concat(textLike(random, 100_000), random(random, 50_000));
    FilterOptions[][] chains = {
        {new X86Options(), new LZMA2Options(6)},
        {new ARMOptions(), new LZMA2Options(0)},
        {new ARM64Options(), new LZMA2Options(6)},
        {new DeltaOptions(4), new LZMA2Options(1)},
        {new DeltaOptions(2), new PowerPCOptions(), new LZMA2Options(6)},
    };
    for (FilterOptions[] chain : chains) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      try (XZOutputStream xz = new XZOutputStream(out, chain, XZ.CHECK_CRC64)) {
        xz.write(data);
      }
      Outcome o = assertSameOutcome(out.toByteArray(), Arrays.toString(chain));
      assertArrayEquals(data, o.bytes());
    }
  }

  @Test
  void rejects_trailingGarbage_likeXzJava() throws IOException {
    Random random = new Random(SEED + 2);
    byte[] a = xz(textLike(random, 10_000));
    for (int length = 1; length <= 40; length++) {
      byte[] garbage = random(random, length);
      garbage[0] |= 1; // not stream padding
      assertSameOutcome(concat(a, garbage), length + " bytes of garbage");
      assertSameOutcome(concat(a, new byte[4], garbage), "padding, then " + length + " bytes of garbage");
    }
    assertSameOutcome(concat(a, Arrays.copyOf(a, 12)), "a second stream header alone");
    assertSameOutcome(concat(a, "trailing text, not xz".getBytes(StandardCharsets.US_ASCII)), "text after the stream");
  }

  @Test
  void rejects_everyTruncation_likeXzJava() throws IOException {
    Random random = new Random(SEED + 3);
    byte[] first = xz(textLike(random, 3000), new LZMA2Options(6), XZ.CHECK_SHA256);
    byte[] small = concat(first, new byte[4], xz(random(random, 500), new LZMA2Options(0), XZ.CHECK_CRC32));
    for (int length = 0; length < small.length; length++) {
      Outcome o = assertSameOutcome(Arrays.copyOf(small, length), "first " + length + " bytes");
      boolean wholeStreams = length == first.length || length == first.length + 4;
      assertEquals(wholeStreams, o.bytes() != null, "cut after " + length + " bytes: " + o);
    }
    byte[] large = xz(textLike(random, 2 << 20), new LZMA2Options(6), XZ.CHECK_CRC64);
    for (int i = 0; i < 60; i++) {
      int length = random.nextInt(large.length);
      Outcome o = assertSameOutcome(Arrays.copyOf(large, length), "first " + length + " bytes");
      assertEquals("truncated", o.failure());
    }
  }

  @Test
  void rejects_flippedBytes_likeXzJava() throws IOException {
    Random random = new Random(SEED + 4);
    for (int check : CHECKS) {
      byte[] xz = xz(textLike(random, 2000), new LZMA2Options(6), check);
      for (int at = 0; at < xz.length; at++) {
        byte[] bad = xz.clone();
        bad[at] ^= (byte) (1 << random.nextInt(8));
        assertSameOutcome(bad, "check " + check + ", bit flipped in byte " + at);
      }
    }
    byte[] large = xz(random(random, 1 << 20), new LZMA2Options(6), XZ.CHECK_CRC32);
    for (int i = 0; i < 100; i++) {
      byte[] bad = large.clone();
      int at = random.nextInt(bad.length);
      bad[at] ^= (byte) (1 + random.nextInt(255));
      assertSameOutcome(bad, "byte " + at + " of a 1 MiB stream");
    }
  }

  @Test
  void rejects_anUnsupportedCheckType_likeXzJava() throws IOException {
    // Check ID 2 is reserved, with a 4-byte field like CRC32's: rewritten in header and footer.
    byte[] xz = xz(textLike(new Random(SEED + 9), 5000), new LZMA2Options(0), XZ.CHECK_CRC32);
    xz[7] = 0x02;
    putCrc32(xz, 6, 2, 8);
    xz[xz.length - 3] = 0x02;
    putCrc32(xz, xz.length - 8, 6, xz.length - 12);
    assertEquals("corrupt", assertSameOutcome(xz, "check ID 2").failure());
  }

  private static void putCrc32(byte[] b, int from, int length, int at) {
    CRC32 crc = new CRC32();
    crc.update(b, from, length);
    for (int i = 0; i < 4; i++) {
      b[at + i] = (byte) (crc.getValue() >>> (8 * i));
    }
  }

  @Test
  void rejects_aStreamNeedingMoreThanTheMemoryLimit_likeXzJava() throws IOException {
    byte[] xz = xz(textLike(new Random(SEED + 5), 1000));
    // 2 << (34 / 2 + 11) = 512 MiB of dictionary, over the 256 MiB limit.
    byte[] huge = withDictionaryByte(xz, 34);
    assertEquals("memory limit", assertSameOutcome(huge, "a 512 MiB dictionary").failure());
    MemoryLimitException e = assertThrows(MemoryLimitException.class,
        () -> new LiblzmaInputStream(new ByteArrayInputStream(huge), LIMIT_KIB).readAllBytes());
    assertEquals(LIMIT_KIB, e.getMemoryLimit());
    assertTrue(e.getMemoryNeeded() > 512 * 1024, e.getMessage());
    // 256 MiB exactly is over too, for both: the decoder needs a little more than its dictionary.
    assertEquals("memory limit", assertSameOutcome(withDictionaryByte(xz, 32), "a 256 MiB dictionary").failure());
  }

  @Test
  void failures_areThrownAgain_andCloseClosesTheWrappedStreamOnce() throws IOException {
    byte[] xz = xz(textLike(new Random(SEED + 6), 100_000));
    int[] closes = {0};
    InputStream wrapped = new FilterInputStream(new ByteArrayInputStream(Arrays.copyOf(xz, xz.length / 2))) {
      @Override
      public void close() {
        closes[0]++;
      }
    };
    LiblzmaInputStream in = new LiblzmaInputStream(wrapped, LIMIT_KIB);
    EOFException first = assertThrows(EOFException.class, in::readAllBytes);
    assertSame(first, assertThrows(EOFException.class, in::read), "a failure is thrown again");
    in.close();
    in.close();
    assertEquals(1, closes[0]);
    assertThrows(IOException.class, in::read, "reading a closed stream");

    LiblzmaInputStream unread = new LiblzmaInputStream(new ByteArrayInputStream(xz), LIMIT_KIB);
    assertEquals(10, unread.read(new byte[10]));
    unread.close();
    unread.close();
    assertThrows(IOException.class, () -> unread.read(new byte[10]));
    assertThrows(IndexOutOfBoundsException.class,
        () -> new LiblzmaInputStream(new ByteArrayInputStream(xz), LIMIT_KIB).read(new byte[10], 5, 6));
  }

  @Test
  void wrappedStreamFailures_passUnchanged() throws IOException {
    byte[] xz = xz(textLike(new Random(SEED + 7), 200_000));
    IOException network = new IOException("connection reset");
    InputStream failing = new FilterInputStream(new ByteArrayInputStream(xz)) {
      int reads;

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (++reads == 2) {
          throw network;
        }
        return super.read(b, off, Math.min(len, 1000));
      }
    };
    try (LiblzmaInputStream in = new LiblzmaInputStream(failing, LIMIT_KIB)) {
      assertSame(network, assertThrows(IOException.class, in::readAllBytes));
    }
  }

  @Test
  void decodes_fromManyThreadsAtOnce() throws Exception {
    Random random = new Random(SEED + 8);
    List<byte[]> data = new ArrayList<>();
    List<byte[]> streams = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      byte[] d = i % 2 == 0 ? textLike(random, 200_000 + i) : random(random, 100_000 + i);
      data.add(d);
      streams.add(xz(d, new LZMA2Options(i % 7), CHECKS[i % 4]));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        runs.add(pool.submit(() -> {
          for (int round = 0; round < 20; round++) {
            int i = (thread * 5 + round) % streams.size();
            try (InputStream in = new LiblzmaInputStream(new ByteArrayInputStream(streams.get(i)), LIMIT_KIB)) {
              assertArrayEquals(data.get(i), in.readAllBytes(), "stream " + i);
            }
          }
          return null;
        }));
      }
      for (Future<?> run : runs) {
        run.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void xzDecoder_usesLiblzmaUnlessToldNotTo() throws IOException {
    boolean java = "java".equals(System.getProperty("narvault.xz"));
    assertEquals(!java, XzDecoder.LIBLZMA);
    byte[] xz = xz("hello".getBytes(StandardCharsets.US_ASCII));
    try (InputStream in = XzDecoder.open(new ByteArrayInputStream(xz), LIMIT_KIB)) {
      assertEquals(java ? XZInputStream.class : LiblzmaInputStream.class, in.getClass());
      assertEquals("hello", new String(in.readAllBytes(), StandardCharsets.US_ASCII));
    }
    assertThrows(IllegalArgumentException.class, () -> XzDecoder.chooseLiblzma("native"));
    assertEquals(false, XzDecoder.chooseLiblzma("java"));
  }
}
