package dev.narvault.gateway.server;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.time.Duration;

/**
 * What every answer tells the caches in front of the gateway (a CDN, a proxy), in one place. NARs
 * never change (a NAR file is named by its FileHash, and what is served under a name is verified
 * against it): a year, immutable, with the FileHash as their {@code ETag}. A narinfo may still
 * change (a takedown, a re-signing) and is small: an hour. A 404 is kept as long as the gateway
 * itself remembers the miss ({@code --negative-ttl}), so a CDN adds no staleness of its own and a
 * crowd asking through it for one missing path costs one answer per point of presence and TTL; Nix
 * caches a negative narinfo lookup for an hour on its own anyway. A 503 or 429 is never stored: it
 * is about this moment (or this client), and a cached one would be served to everyone.
 */
final class CacheHeaders {
  /** NARs, and every other object under {@code nar/}. */
  static final String IMMUTABLE = "public, max-age=31536000, immutable";
  /** narinfo, nix-cache-info and objects the archive knows nothing about. */
  static final String SHORT = "public, max-age=3600";
  /** 503, 429, errors and the metrics. */
  static final String NO_STORE = "no-store";

  private CacheHeaders() {}

  /** For a 404, with the gateway's negative TTL. */
  static String notFound(Duration negativeTtl) {
    return negativeTtl.toSeconds() > 0 ? "public, max-age=" + negativeTtl.toSeconds() : NO_STORE;
  }

  /** For an object S3 serves under {@code key}. */
  static String forObject(String key) {
    return key.startsWith("nar/") ? IMMUTABLE : SHORT;
  }

  /** A NAR's entity tag: its FileHash ({@code sha256:…}), quoted. */
  static String etag(String fileHash) {
    return "\"" + fileHash + "\"";
  }

  /**
   * Whether the request's {@code If-None-Match} names {@code etag} (or is {@code *}): then the
   * answer is 304 whatever its Range. Weak tags compare by their value, as If-None-Match wants.
   */
  static boolean notModified(HttpRequest request, String etag) {
    for (String header : request.headers().getAll(HttpHeaderNames.IF_NONE_MATCH)) {
      for (String tag : header.split(",")) {
        String t = tag.strip();
        if (t.startsWith("W/")) {
          t = t.substring(2);
        }
        if (t.equals("*") || t.equals(etag)) {
          return true;
        }
      }
    }
    return false;
  }
}
