package dev.narvault.repair.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;

/**
 * The network an address belongs to, for keeping fragments apart: its IPv4 /24 or IPv6 /48.
 * Holders in one such network are likely one machine room, one ISP customer, or one person.
 */
public final class Networks {
  private Networks() {}

  /**
   * {@code 192.0.2.0/24} or {@code 2001:db8:1::/48} for a literal address; anything that is not
   * an IP literal stands for itself (so it is still kept apart from everything else).
   */
  public static String of(String address) {
    if (address == null || address.isEmpty()) {
      return "";
    }
    String literal = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1)
        : address;
    if (!literal.matches("[0-9a-fA-F.:]+")) {
      return literal;
    }
    try {
      // A literal only (checked above): no DNS lookup happens here.
      InetAddress a = InetAddress.getByName(literal);
      byte[] b = a.getAddress();
      if (a instanceof Inet4Address) {
        return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + ".0/24";
      }
      if (a instanceof Inet6Address) {
        HexFormat hex = HexFormat.of();
        return hex.formatHex(b, 0, 2) + ":" + hex.formatHex(b, 2, 4) + ":" + hex.formatHex(b, 4, 6) + "::/48";
      }
      return literal;
    } catch (UnknownHostException e) {
      return literal;
    }
  }
}
