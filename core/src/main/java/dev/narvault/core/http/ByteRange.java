package dev.narvault.core.http;

import java.util.Optional;

/**
 * One satisfiable byte range {@code [first, last]} of a representation of {@code total} bytes,
 * parsed from a {@code Range} header. Only single ranges are supported ({@code bytes=a-b},
 * {@code bytes=a-}, {@code bytes=-n}); a multi-range request is answered whole, as RFC 9110 allows.
 */
public record ByteRange(long first, long last, long total) {
  public ByteRange {
    if (first < 0 || last < first || last >= total) {
      throw new IllegalArgumentException("bad range " + first + "-" + last + "/" + total);
    }
  }

  /** Thrown for a syntactically valid range that lies outside the representation (HTTP 416). */
  public static final class UnsatisfiableException extends Exception {
    private static final long serialVersionUID = 1L;

    public UnsatisfiableException(String header) {
      super("range not satisfiable: " + header);
    }
  }

  /**
   * Parses a {@code Range} header against a representation of {@code total} bytes. Empty means
   * "serve it whole" (no header, another unit, several ranges, or a malformed header, which RFC
   * 9110 says to ignore).
   */
  public static Optional<ByteRange> parse(String header, long total) throws UnsatisfiableException {
    if (header == null || !header.startsWith("bytes=") || header.indexOf(',') >= 0) {
      return Optional.empty();
    }
    String spec = header.substring("bytes=".length()).strip();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return Optional.empty();
    }
    try {
      String a = spec.substring(0, dash).strip();
      String b = spec.substring(dash + 1).strip();
      if (a.isEmpty()) {
        long suffix = Long.parseLong(b);
        if (suffix <= 0 || total == 0) {
          throw new UnsatisfiableException(header);
        }
        return Optional.of(new ByteRange(Math.max(0, total - suffix), total - 1, total));
      }
      long first = Long.parseLong(a);
      long last = b.isEmpty() ? total - 1 : Math.min(Long.parseLong(b), total - 1);
      if (first < 0 || (!b.isEmpty() && Long.parseLong(b) < first)) {
        return Optional.empty();
      }
      if (first >= total) {
        throw new UnsatisfiableException(header);
      }
      return Optional.of(new ByteRange(first, last, total));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  public long length() {
    return last - first + 1;
  }

  /** The {@code Content-Range} value, e.g. {@code bytes 0-99/1000}. */
  public String contentRange() {
    return "bytes " + first + "-" + last + "/" + total;
  }
}
