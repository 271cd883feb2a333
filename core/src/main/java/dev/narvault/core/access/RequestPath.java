package dev.narvault.core.access;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.nix.NixBase32;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What a requested path names in the access records: {@code …/<hash>.narinfo} its store hash,
 * {@code …/nar/<file>} the NAR object's S3 key {@code nar/<file>}; anything else (the
 * {@code nix-cache-info}, build logs, a path of another site) nothing. A prefix before either is
 * allowed (a cache served under {@code /cache/}), as are a scheme and host, a query and percent
 * escapes.
 */
public final class RequestPath {
  private RequestPath() {}

  /**
   * The subject a request path names, or empty for a path that names none.
   *
   * @throws IllegalArgumentException for a malformed percent escape
   */
  public static Optional<String> subject(String target) {
    String path = target;
    int query = indexOfAny(path, '?', '#');
    if (query >= 0) {
      path = path.substring(0, query);
    }
    int scheme = path.indexOf("://");
    if (scheme > 0 && scheme < 10) {
      int slash = path.indexOf('/', scheme + 3);
      path = slash < 0 ? "/" : path.substring(slash);
    }
    path = percentDecoded(path);
    String base = path.substring(path.lastIndexOf('/') + 1);
    if (base.endsWith(".narinfo")) {
      String hash = base.substring(0, base.length() - ".narinfo".length());
      return hash.length() == 32 && NixBase32.isNix32(hash) ? Optional.of(hash) : Optional.empty();
    }
    String key = path.startsWith("nar/") ? path : null;
    int nar = path.lastIndexOf("/nar/");
    if (nar >= 0) {
      key = path.substring(nar + 1);
    }
    return key != null && AccessRecords.isSubject(key) ? Optional.of(key) : Optional.empty();
  }

  private static int indexOfAny(String s, char a, char b) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == a || c == b) {
        return i;
      }
    }
    return -1;
  }

  /** {@code %XX} escapes decoded (as UTF-8 bytes); a {@code %} not followed by two hex digits is refused. */
  static String percentDecoded(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '%') {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(b, 0, b.length);
        continue;
      }
      int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
      int lo = i + 2 < s.length() ? Character.digit(s.charAt(i + 2), 16) : -1;
      if (hi < 0 || lo < 0) {
        throw new IllegalArgumentException("malformed percent escape in '" + s + "'");
      }
      out.write(hi << 4 | lo);
      i += 2;
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
