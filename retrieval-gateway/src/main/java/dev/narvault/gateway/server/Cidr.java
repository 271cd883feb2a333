package dev.narvault.gateway.server;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * A range of addresses, {@code 192.0.2.0/24} or {@code 2001:db8::/32} (a bare address is the
 * range of that address alone): where the gateway's trusted proxies are. IPv4-mapped IPv6
 * addresses are their IPv4 address.
 */
public record Cidr(InetAddress network, int prefixLength) {
  public Cidr {
    network = ClientAddress.unmapped(network);
    int bits = network.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException("a prefix length of " + network.getHostAddress() + " must be 0.." + bits
          + ", got " + prefixLength);
    }
    byte[] b = network.getAddress();
    for (int i = prefixLength; i < bits; i++) {
      if ((b[i / 8] & (0x80 >>> (i % 8))) != 0) {
        throw new IllegalArgumentException(network.getHostAddress() + "/" + prefixLength + " has bits set past its "
            + "prefix: did you mean the network it is in?");
      }
    }
  }

  /** Parses {@code ADDRESS/PREFIX} or a bare address; never looks a name up. */
  public static Cidr parse(String text) {
    String s = text.strip();
    int slash = s.indexOf('/');
    String address = slash < 0 ? s : s.substring(0, slash);
    InetAddress a = ClientAddress.literal(address).orElseThrow(() -> new IllegalArgumentException(
        "a trusted proxy must be an address or CIDR range such as 192.0.2.0/24 or 2001:db8::/32, got '" + text + "'"));
    a = ClientAddress.unmapped(a);
    int bits = a instanceof Inet4Address ? 32 : 128;
    if (slash < 0) {
      return new Cidr(a, bits);
    }
    int prefixLength;
    try {
      prefixLength = Integer.parseInt(s.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("a CIDR range's prefix length must be a number, got '" + text + "'");
    }
    try {
      return new Cidr(a, prefixLength);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + text + "': " + e.getMessage());
    }
  }

  public boolean contains(InetAddress address) {
    byte[] a = ClientAddress.unmapped(address).getAddress();
    byte[] n = network.getAddress();
    if (a.length != n.length) {
      return false;
    }
    for (int i = 0; i < prefixLength; i++) {
      int mask = 0x80 >>> (i % 8);
      if ((a[i / 8] & mask) != (n[i / 8] & mask)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return network.getHostAddress() + "/" + prefixLength;
  }
}
