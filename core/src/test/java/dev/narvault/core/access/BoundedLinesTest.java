package dev.narvault.core.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BoundedLinesTest {
  private static BoundedLines lines(String text, int max) {
    return new BoundedLines(new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1)), max);
  }

  @Test
  void next_splitsOnNewlines_dropsCarriageReturns_keepsALastLineWithoutNewline() throws IOException {
    BoundedLines l = lines("a\r\nbb\n\nccc", 10);
    assertEquals("a", l.next());
    assertEquals("bb", l.next());
    assertEquals("", l.next());
    assertEquals("ccc", l.next());
    assertNull(l.next());
    assertNull(l.next());
  }

  @Test
  void aLineLongerThanTheMaximum_isCutAndFlagged_andTheNextLineIsWhole() throws IOException {
    BoundedLines l = lines("x".repeat(50) + "\nshort\n", 8);
    assertEquals("xxxxxxxx", l.next());
    assertTrue(l.tooLong());
    assertEquals("short", l.next());
    assertFalse(l.tooLong());
  }

  @Test
  void aGigabyteWithoutNewline_costsOneLineOfMemory() throws IOException {
    long total = 1L << 30;
    InputStream endless = new InputStream() {
      long left = total;

      @Override
      public int read() {
        return left-- > 0 ? 'y' : -1;
      }

      @Override
      public int read(byte[] b, int off, int len) {
        if (left <= 0) {
          return -1;
        }
        int n = (int) Math.min(len, left);
        java.util.Arrays.fill(b, off, off + n, (byte) 'y');
        left -= n;
        return n;
      }
    };
    BoundedLines l = new BoundedLines(endless, 1024);
    assertEquals(1024, l.next().length());
    assertTrue(l.tooLong());
    assertNull(l.next());
  }

  @Test
  void binaryJunk_isLinesOfBytes() throws IOException {
    byte[] junk = new byte[256];
    for (int i = 0; i < 256; i++) {
      junk[i] = (byte) i;
    }
    BoundedLines l = new BoundedLines(new ByteArrayInputStream(junk), 1000);
    assertEquals(10, l.next().length(), "bytes 0-9, then the newline");
    assertEquals(245, l.next().length());
    assertNull(l.next());
  }
}
