package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FragmentBytesTest {
  @TempDir
  Path dir;

  private byte[] pack(int size) throws IOException {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    Files.write(dir.resolve("pack"), bytes);
    return bytes;
  }

  private static byte[] readAll(FragmentBytes bytes) throws IOException {
    try (InputStream in = bytes.open()) {
      return in.readAllBytes();
    }
  }

  @Test
  void sliceInsideThePackIsThoseBytes() throws IOException {
    byte[] pack = pack(10_000);
    FragmentBytes slice = FragmentBytes.slice(dir.resolve("pack"), 3000, 2500);
    assertEquals(2500, slice.size());
    assertArrayEquals(Arrays.copyOfRange(pack, 3000, 5500), readAll(slice));
    // Every upload try reads it again, from its start.
    assertArrayEquals(Arrays.copyOfRange(pack, 3000, 5500), readAll(slice));
  }

  @Test
  void lastDataFragmentIsZeroPaddedPastThePacksEnd() throws IOException {
    byte[] pack = pack(10_001);
    // RS(10,m) of 10 001 bytes: fragments of 1001 bytes, the last holds 992 real ones.
    byte[] last = readAll(FragmentBytes.slice(dir.resolve("pack"), 9 * 1001L, 1001));
    assertEquals(1001, last.length);
    assertArrayEquals(Arrays.copyOfRange(pack, 9009, 10_001), Arrays.copyOfRange(last, 0, 992));
    assertArrayEquals(new byte[9], Arrays.copyOfRange(last, 992, 1001));
  }

  @Test
  void sliceWhollyPastTheEndIsZeros() throws IOException {
    pack(100);
    assertArrayEquals(new byte[50], readAll(FragmentBytes.slice(dir.resolve("pack"), 400, 50)));
  }

  @Test
  void wholeFileAndBadArguments() throws IOException {
    byte[] pack = pack(777);
    FragmentBytes file = FragmentBytes.of(dir.resolve("pack"));
    assertEquals(777, file.size());
    assertArrayEquals(pack, readAll(file));
    assertThrows(IllegalArgumentException.class, () -> FragmentBytes.slice(dir.resolve("pack"), -1, 5));
  }

  /** What {@link FragmentBytes#writeTo} puts into a channel (the upload's path), read back. */
  private static byte[] written(FragmentBytes bytes) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    bytes.writeTo(java.nio.channels.Channels.newChannel(out));
    return out.toByteArray();
  }

  @Test
  void writeToSendsTheSameBytesAsOpen_slicesPaddingAndWholeFiles() throws IOException {
    pack(300_001);
    Path file = dir.resolve("pack");
    // RS(3,m): fragments of 100 001 bytes; the last holds 99 999 real ones and 2 zeros.
    for (FragmentBytes bytes : java.util.List.of(FragmentBytes.slice(file, 0, 100_001),
        FragmentBytes.slice(file, 200_002, 100_001), FragmentBytes.slice(file, 400_000, 70_000),
        FragmentBytes.slice(file, 5, 0), FragmentBytes.of(file))) {
      byte[] expected = readAll(bytes);
      assertEquals(bytes.size(), expected.length);
      assertArrayEquals(expected, written(bytes));
      // Again: every try of an upload sends it whole.
      assertArrayEquals(expected, written(bytes));
    }
  }

  @Test
  void aWholeFileThatShrankIsAnErrorOfThisSide_neverPadded() throws IOException {
    pack(10_000);
    Path file = dir.resolve("pack");
    FragmentBytes whole = FragmentBytes.of(file);
    try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(6_000);
    }
    IOException e = assertThrows(FragmentBytes.SourceException.class, () -> written(whole));
    assertEquals(java.io.EOFException.class, e.getCause().getClass());
    assertThrows(IOException.class, () -> readAll(whole));
    // A gone file is this side's trouble too.
    Files.delete(file);
    assertThrows(FragmentBytes.SourceException.class, () -> written(whole));
  }
}
