package dev.narvault.core.holder;

import java.net.URI;
import java.net.URISyntaxException;

/** Where to connect to a holder, given its advertised endpoint and the address it was proven at. */
public final class HolderEndpoints {
  private HolderEndpoints() {}

  /**
   * Where the coordinator (and workers it gives assignments to) connect to a holder: a plain-HTTP
   * endpoint named by a host name goes to the address it was last proven at, so a name that
   * resolves elsewhere later (DNS rebinding onto an internal service) is never followed. IP
   * literals, HTTPS (the name is its certificate's) and holders never proven stay as they are.
   */
  public static String pinned(String endpoint, String provenAddress) {
    if (provenAddress == null || provenAddress.isEmpty()) {
      return endpoint;
    }
    try {
      URI uri = URI.create(endpoint);
      String host = uri.getHost();
      if (!"http".equals(uri.getScheme()) || host == null || host.startsWith("[") || isIpLiteral(host)) {
        return endpoint;
      }
      String literal = provenAddress.contains(":") ? "[" + provenAddress + "]" : provenAddress;
      return new URI("http", uri.getUserInfo(), literal, uri.getPort(), uri.getPath(), uri.getQuery(), null)
          .toString();
    } catch (IllegalArgumentException | URISyntaxException e) {
      return endpoint;
    }
  }

  private static boolean isIpLiteral(String host) {
    return host.chars().allMatch(c -> Character.isDigit(c) || c == '.') || host.contains(":");
  }
}
