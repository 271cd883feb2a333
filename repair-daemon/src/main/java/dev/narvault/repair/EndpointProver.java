package dev.narvault.repair;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixPublicKey;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Proves a holder's endpoint: resolves its host, refuses addresses nobody else could reach or
 * that would turn the coordinator into a probe of private networks (loopback, private, link-local,
 * shared, reserved, multicast; allowed only under the development flag), connects back to the
 * resolved address itself (no second lookup a DNS answer could change), and has the holder sign
 * a fresh challenge with the key it registered. The proven address is what placement's failure
 * domains come from: a stranger can claim any endpoint, but not be reachable at an address it
 * does not control with a key it does not have.
 */
public final class EndpointProver {
  private final HolderClient client;
  private final boolean allowPrivate;
  private final SecureRandom random = new SecureRandom();

  /** An endpoint that can never be proven as given: a caller's mistake, answered 400. */
  public static final class RefusedEndpointException extends Exception {
    RefusedEndpointException(String message) {
      super(message);
    }
  }

  /**
   * @param allowPrivate accept loopback and private addresses (development on one machine only)
   */
  public EndpointProver(HolderClient client, boolean allowPrivate) {
    this.client = client;
    this.allowPrivate = allowPrivate;
  }

  /**
   * Proves that the holder with {@code key} answers at {@code endpoint}; returns the address it
   * was proven at.
   *
   * @throws RefusedEndpointException when the endpoint's address may not be used
   * @throws IOException when it cannot be reached there or did not prove the key
   */
  String prove(URI endpoint, NixPublicKey key) throws RefusedEndpointException, IOException {
    InetAddress address = resolve(endpoint.getHost());
    String literal = address.getHostAddress();
    URI connectTo;
    try {
      // Plain HTTP goes to the address just checked; HTTPS keeps the name for its certificate.
      connectTo = "http".equals(endpoint.getScheme())
          ? new URI("http", null, address instanceof Inet6Address ? "[" + literal + "]" : literal, endpoint.getPort(),
              endpoint.getPath() == null || endpoint.getPath().isEmpty() ? null : endpoint.getPath(), null, null)
          : endpoint;
    } catch (URISyntaxException e) {
      throw new RefusedEndpointException("bad endpoint " + endpoint + ": " + e.getMessage());
    }
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    client.proveEndpoint(connectTo, HexFormat.of().formatHex(nonce), literal, key);
    return literal;
  }


  /** The first address of {@code host} (an IP literal or a name), checked. */
  InetAddress resolve(String host) throws RefusedEndpointException, IOException {
    if (host == null || host.isEmpty()) {
      throw new RefusedEndpointException("endpoint has no host");
    }
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    InetAddress address;
    try {
      address = InetAddress.getAllByName(h)[0];
    } catch (UnknownHostException e) {
      throw new IOException("cannot resolve " + h + ": " + e.getMessage(), e);
    }
    String why = unusable(address, allowPrivate);
    if (why != null) {
      throw new RefusedEndpointException("endpoint host " + host + " is " + address.getHostAddress() + ", " + why
          + ": advertise an address others can reach (narvault holder --advertise)");
    }
    return address;
  }

  /** Why an address may not be a holder's, or null when it may. */
  static String unusable(InetAddress a, boolean allowPrivate) {
    if (a.isAnyLocalAddress()) {
      return "the wildcard address";
    }
    if (a.isMulticastAddress()) {
      return "a multicast address";
    }
    byte[] b = a.getAddress();
    if (a instanceof Inet6Address && b.length == 16 && isMappedV4(b)) {
      try {
        return unusable(InetAddress.getByAddress(java.util.Arrays.copyOfRange(b, 12, 16)), allowPrivate);
      } catch (UnknownHostException e) {
        return "an unreadable address";
      }
    }
    if (a instanceof Inet4Address) {
      int o0 = b[0] & 0xff;
      int o1 = b[1] & 0xff;
      int o2 = b[2] & 0xff;
      if (o0 == 0 || o0 >= 240 || (o0 == 198 && (o1 & 0xfe) == 18) || (o0 == 192 && o1 == 0 && o2 == 0)) {
        return "a reserved address";
      }
      if ((o0 == 192 && o1 == 0 && o2 == 2) || (o0 == 198 && o1 == 51 && o2 == 100)
          || (o0 == 203 && o1 == 0 && o2 == 113)) {
        return "a documentation address";
      }
    } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x01 && (b[2] & 0xff) == 0x0d && (b[3] & 0xff) == 0xb8) {
      return "a documentation address";
    }
    boolean local = a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress() || sharedOrUnique(a);
    if (local && !allowPrivate) {
      return "a loopback, private or link-local address (allowed only with --allow-private-holders, for "
          + "development on one machine)";
    }
    return null;
  }

  private static boolean isMappedV4(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
  }

  /** IPv4 shared address space 100.64/10 (carrier NAT), IPv6 unique local fc00::/7. */
  private static boolean sharedOrUnique(InetAddress a) {
    byte[] b = a.getAddress();
    if (a instanceof Inet4Address) {
      return (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64;
    }
    return (b[0] & 0xfe) == 0xfc;
  }
}
