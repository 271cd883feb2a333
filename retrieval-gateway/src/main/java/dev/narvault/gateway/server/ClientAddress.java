package dev.narvault.gateway.server;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who a client is, for its budgets: an IPv4 address, or an IPv6 /64 (one subscriber usually has a
 * whole /64, so keying by address would give each of them 2^64 budgets). Behind trusted proxies,
 * the address they name ({@link ClientIdentity}).
 */
final class ClientAddress {
  /** What may be an IP literal: anything else is not even tried. */
  private static final Pattern LITERAL = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}|(?=[^:]*:)[0-9A-Fa-f:.]{2,45}");
  /** An IPv4 address with a port, as some proxies write X-Forwarded-For entries. */
  private static final Pattern V4_WITH_PORT = Pattern.compile("([0-9]{1,3}(\\.[0-9]{1,3}){3}):[0-9]{1,5}");
  /** At most this many X-Forwarded-For entries are read, from the right. */
  private static final int MAX_HOPS = 32;

  private ClientAddress() {}

  /**
   * The client's key for a request from {@code peer} with these {@code X-Forwarded-For} header
   * values (in order) and {@code clientIp}, the value of the identity's client address header
   * ({@code null}: absent).
   */
  static String key(SocketAddress peer, List<String> forwardedFor, String clientIp, ClientIdentity identity) {
    if (!(peer instanceof InetSocketAddress a) || a.getAddress() == null) {
      return String.valueOf(peer);
    }
    return key(client(a.getAddress(), forwardedFor, clientIp, identity));
  }

  /** The client's address; see {@link ClientIdentity} for the rules. */
  static InetAddress client(InetAddress peer, List<String> forwardedFor, String clientIp, ClientIdentity identity) {
    if (!identity.trustsPeer(peer)) {
      return peer;
    }
    if (identity.clientIpHeader().isPresent() && clientIp != null) {
      Optional<InetAddress> named = entry(clientIp);
      if (named.isPresent()) {
        return named.get();
      }
    }
    List<String> entries = new ArrayList<>();
    for (String value : forwardedFor) {
      for (String e : value.split(",", -1)) {
        entries.add(e);
      }
    }
    InetAddress hop = peer;
    for (int i = entries.size() - 1; i >= Math.max(0, entries.size() - MAX_HOPS); i--) {
      Optional<InetAddress> e = entry(entries.get(i));
      if (e.isEmpty()) {
        // Not an address (a proxy's "unknown", or garbage): the trusted hop that passed it on
        // answers for the request.
        return hop;
      }
      hop = e.get();
      if (!identity.isTrustedProxy(hop)) {
        return hop;
      }
    }
    return hop;
  }

  static String key(InetAddress address) {
    InetAddress a = unmapped(address);
    if (a instanceof Inet6Address v6) {
      return HexFormat.of().formatHex(v6.getAddress(), 0, 8) + "::/64";
    }
    return a instanceof Inet4Address ? a.getHostAddress() : a.toString();
  }

  /** An IPv4-mapped IPv6 address as its IPv4 address; any other as it is. */
  static InetAddress unmapped(InetAddress address) {
    byte[] b = address.getAddress();
    if (b.length != 16) {
      return address;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return address;
      }
    }
    if (b[10] != (byte) 0xff || b[11] != (byte) 0xff) {
      return address;
    }
    try {
      return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One X-Forwarded-For entry or client address header: an address, bracketed IPv6 or with a port. */
  private static Optional<InetAddress> entry(String text) {
    String s = text.strip();
    if (s.startsWith("[") && s.contains("]")) {
      s = s.substring(1, s.indexOf(']'));
    } else {
      var withPort = V4_WITH_PORT.matcher(s);
      if (withPort.matches()) {
        s = withPort.group(1);
      }
    }
    return literal(s);
  }

  /** An IP literal; never a name lookup ({@code 999.1.1.1} is no address, not a host name). */
  static Optional<InetAddress> literal(String text) {
    if (!LITERAL.matcher(text).matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.ofLiteral(text));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
