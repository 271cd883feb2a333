package dev.narvault.holder.server;

import dev.narvault.core.pack.FragmentId;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;

/**
 * What a request line asks the holder for, parsed before anything is done: the method and URI
 * become one of these, or a {@link Refused} with the status to answer. Kept apart from the handler
 * so that it can be fuzzed on its own (every outside URI goes through it).
 */
sealed interface HolderRoute {
  /** The most ids one listing answer carries. */
  int MAX_LISTING = 10_000;
  String FRAGMENTS = "/v1/fragments";
  String RESTORE = "/restore";

  /** {@code GET /v1/status}. */
  record Status() implements HolderRoute {}

  /** {@code GET /metrics}. */
  record Metrics() implements HolderRoute {}

  /** {@code POST /v1/audit}; the body follows. */
  record Audit() implements HolderRoute {}

  /** {@code POST /v1/prove}; the body (an endpoint challenge) follows. */
  record Prove() implements HolderRoute {}

  /** {@code GET /v1/fragments?after=<id>&limit=N}. */
  record Listing(String after, int limit) implements HolderRoute {}

  /** {@code GET|HEAD|PUT|DELETE /v1/fragments/<id>[?blockSize=N]}; blockSize -1 when absent or malformed. */
  record Fragment(String method, FragmentId id, int blockSize) implements HolderRoute {}

  /** {@code POST /v1/fragments/<id>/restore}: bring a deleted fragment back from the trash. */
  record Restore(FragmentId id) implements HolderRoute {}

  /** Nothing to do: answer {@code status} with {@code message}. */
  record Refused(int status, String message) implements HolderRoute {}

  /** Parses a request's method and URI; never throws. */
  static HolderRoute parse(String method, String uri) {
    QueryStringDecoder decoded;
    String path;
    try {
      // Both decode lazily and throw on a bad escape: decode them here, once.
      decoded = new QueryStringDecoder(uri);
      path = decoded.path();
      decoded.parameters();
    } catch (IllegalArgumentException e) {
      return new Refused(400, "malformed URI");
    }
    if (path.startsWith(FRAGMENTS + "/")) {
      return fragment(method, path.substring(FRAGMENTS.length() + 1), decoded);
    }
    String expected = switch (path) {
      case "/v1/status", "/metrics", FRAGMENTS -> "GET";
      case "/v1/audit", "/v1/prove" -> "POST";
      default -> null;
    };
    if (expected == null) {
      return new Refused(404, "unknown path");
    }
    if (!expected.equals(method)) {
      return new Refused(405, "use " + expected + " for " + path);
    }
    return switch (path) {
      case "/v1/status" -> new Status();
      case "/metrics" -> new Metrics();
      case "/v1/audit" -> new Audit();
      case "/v1/prove" -> new Prove();
      default -> listing(decoded);
    };
  }

  private static HolderRoute fragment(String method, String idText, QueryStringDecoder decoded) {
    boolean restore = idText.endsWith(RESTORE);
    if (restore ? !method.equals("POST") : !List.of("GET", "HEAD", "PUT", "DELETE").contains(method)) {
      return new Refused(405, restore ? "use POST for " + RESTORE : "use PUT, GET, HEAD or DELETE");
    }
    String hex = restore ? idText.substring(0, idText.length() - RESTORE.length()) : idText;
    FragmentId id;
    try {
      id = new FragmentId(hex);
    } catch (IllegalArgumentException e) {
      String shown = idText.length() > 80 ? idText.substring(0, 80) + "…" : idText;
      return new Refused(400, "not a fragment id (64 lowercase hex digits): '" + shown + "'");
    }
    if (restore) {
      return new Restore(id);
    }
    List<String> blockSizes = decoded.parameters().getOrDefault("blockSize", List.of());
    int blockSize = -1;
    try {
      blockSize = blockSizes.size() == 1 ? Integer.parseInt(blockSizes.getFirst()) : -1;
    } catch (NumberFormatException e) {
      // stays -1: PUT refuses it
    }
    return new Fragment(method, id, blockSize);
  }

  private static HolderRoute listing(QueryStringDecoder decoded) {
    String after = decoded.parameters().getOrDefault("after", List.of("")).getFirst();
    int limit;
    try {
      limit = Integer.parseInt(decoded.parameters().getOrDefault("limit", List.of(Integer.toString(MAX_LISTING)))
          .getFirst());
    } catch (NumberFormatException e) {
      return new Refused(400, "limit must be a number");
    }
    if (limit < 1 || limit > MAX_LISTING || after.length() > 64) {
      return new Refused(400, "limit must be 1.." + MAX_LISTING + " and after an id");
    }
    return new Listing(after, limit);
  }
}
