package dev.narvault.gateway.server;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * How the gateway tells who a request comes from, for the per-client budgets, when it runs behind
 * reverse proxies or a CDN. A request whose connection does not come from a trusted proxy is its
 * peer's, whatever its headers say. One from a trusted proxy is the client's that the proxy names:
 * the {@code clientIpHeader} if there is one and it holds an address, else {@code X-Forwarded-For}
 * read from the right, over trusted proxies only: the first entry that is not a trusted proxy is
 * the client (entries to its left are whatever the client claimed). An entry that is not an
 * address stops the walk at the trusted hop that passed it on.
 *
 * @param trustedProxies the ranges of the proxies in front of the gateway (the CDN's published
 *     ranges, a load balancer's address); none: headers are never read
 * @param clientIpHeader a header the first trusted proxy sets to its client's address, overwriting
 *     what the client sent (Fastly's {@code Fastly-Client-IP}, Cloudflare's {@code CF-Connecting-IP})
 * @param lastForwardedHop the deprecated {@code --trust-forwarded-for}: every peer counts as a
 *     proxy and the last {@code X-Forwarded-For} entry is the client (behind a CDN with shielding,
 *     a CDN node: one budget for a whole point of presence)
 */
public record ClientIdentity(List<Cidr> trustedProxies, Optional<String> clientIpHeader, boolean lastForwardedHop) {
  /** Every client is its connection's peer. */
  public static final ClientIdentity PEER = new ClientIdentity(List.of(), Optional.empty(), false);

  public ClientIdentity {
    trustedProxies = List.copyOf(trustedProxies);
    if (clientIpHeader.isPresent() && trustedProxies.isEmpty()) {
      throw new IllegalArgumentException("--client-ip-header " + clientIpHeader.get() + " needs --trusted-proxy: "
          + "without it any client could name itself in that header");
    }
    if (clientIpHeader.isPresent() && !clientIpHeader.get().matches("[A-Za-z0-9-]{1,64}")) {
      throw new IllegalArgumentException("not a header name: '" + clientIpHeader.get() + "'");
    }
    if (lastForwardedHop && !trustedProxies.isEmpty()) {
      throw new IllegalArgumentException("--trust-forwarded-for and --trusted-proxy exclude each other: "
          + "--trusted-proxy replaces it");
    }
  }

  /** Whether requests that {@code peer} forwards may name their client. */
  boolean trustsPeer(InetAddress peer) {
    return lastForwardedHop || isTrustedProxy(peer);
  }

  boolean isTrustedProxy(InetAddress address) {
    for (Cidr c : trustedProxies) {
      if (c.contains(address)) {
        return true;
      }
    }
    return false;
  }
}
