package dev.narvault.core.access;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Lines of a stream, each at most {@code maxLength} bytes kept: a file of binary junk, or one
 * line of a gigabyte, costs no more memory than a normal line. Lines end at {@code \n} (a
 * {@code \r} before it is dropped); bytes are read as ISO-8859-1, so any byte sequence is a line.
 */
public final class BoundedLines {
  private final InputStream in;
  private final int maxLength;
  private final byte[] buffer = new byte[1 << 16];
  private int position;
  private int limit;
  private final byte[] line;
  private boolean tooLong;
  private boolean ended;

  public BoundedLines(InputStream in, int maxLength) {
    if (maxLength < 1) {
      throw new IllegalArgumentException("max line length must be >= 1, got " + maxLength);
    }
    this.in = in;
    this.maxLength = maxLength;
    this.line = new byte[maxLength];
  }

  /** The next line (cut to the maximum length if longer: see {@link #tooLong()}), or null at the end. */
  public String next() throws IOException {
    if (ended) {
      return null;
    }
    int length = 0;
    boolean any = false;
    tooLong = false;
    while (true) {
      if (position == limit) {
        limit = in.read(buffer, 0, buffer.length);
        position = 0;
        if (limit <= 0) {
          limit = 0;
          ended = true;
          return any ? text(length) : null;
        }
      }
      any = true;
      int start = position;
      int end = start;
      while (end < limit && buffer[end] != '\n') {
        end++;
      }
      int take = Math.min(end - start, maxLength - length);
      System.arraycopy(buffer, start, line, length, take);
      length += take;
      if (end - start > take) {
        tooLong = true;
      }
      if (end < limit) {
        position = end + 1;
        return text(length);
      }
      position = limit;
    }
  }

  /** Whether the line {@link #next()} returned was longer than the maximum (and was cut). */
  public boolean tooLong() {
    return tooLong;
  }

  private String text(int length) {
    int n = length;
    if (!tooLong && n > 0 && line[n - 1] == '\r') {
      n--;
    }
    return new String(line, 0, n, StandardCharsets.ISO_8859_1);
  }
}
