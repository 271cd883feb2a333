package dev.narvault.gateway.server;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who a client is, for its budgets: an IPv4 address, or an IPv6 /64 (one subscriber usually has a
 * whole /64, so keying by address would give each of them 2^64 budgets). Behind a trusted reverse
 * proxy, the last {@code X-Forwarded-For} entry (the one that proxy added) names the client.
 */
final class ClientAddress {
  /** Only IP literals: never a name, which {@link InetAddress#getByName} would look up. */
  private static final Pattern LITERAL = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}|(?=[^:]*:)[0-9A-Fa-f:.]{2,45}");

  private ClientAddress() {}

  static String key(SocketAddress peer, String forwardedFor, boolean trustForwardedFor) {
    if (trustForwardedFor && forwardedFor != null) {
      Optional<InetAddress> forwarded = lastLiteral(forwardedFor);
      if (forwarded.isPresent()) {
        return key(forwarded.get());
      }
    }
    return peer instanceof InetSocketAddress a && a.getAddress() != null ? key(a.getAddress()) : String.valueOf(peer);
  }

  static String key(InetAddress address) {
    if (address instanceof Inet6Address v6) {
      byte[] bytes = v6.getAddress();
      if (isV4Mapped(bytes)) {
        return (bytes[12] & 0xff) + "." + (bytes[13] & 0xff) + "." + (bytes[14] & 0xff) + "." + (bytes[15] & 0xff);
      }
      return HexFormat.of().formatHex(bytes, 0, 8) + "::/64";
    }
    return address instanceof Inet4Address ? address.getHostAddress() : address.toString();
  }

  private static boolean isV4Mapped(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }

  private static Optional<InetAddress> lastLiteral(String header) {
    int comma = header.lastIndexOf(',');
    String last = header.substring(comma + 1).strip();
    if (last.startsWith("[") && last.endsWith("]")) {
      last = last.substring(1, last.length() - 1);
    }
    if (!LITERAL.matcher(last).matches()) {
      return Optional.empty();
    }
    try {
      return Optional.of(InetAddress.getByName(last));
    } catch (UnknownHostException e) {
      return Optional.empty();
    }
  }
}
