package dev.narvault.core.coordinator;

import dev.narvault.core.holder.HolderId;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HexFormat;

/**
 * Where a holder sits in the nested failure domains that placement keeps apart: the holder itself
 * ⊂ its network (IPv4 /24, IPv6 /48) ⊂ its wider network (IPv4 /16, IPv6 /32) ⊂ its declared
 * operator. One machine room, one ISP customer or one person is likely to be one network; one
 * provider or one stranger with many addresses is likely to be one wider network.
 *
 * <p>The address is the one the coordinator proved the holder's endpoint at (resolved, connected
 * back to), never one a holder merely claims. A holder that declares no operator is an operator of
 * its own.
 *
 * @param holderId the holder
 * @param network {@code 192.0.2.0/24} or {@code 2001:0db8:0001::/48}
 * @param widerNetwork {@code 192.0.0.0/16} or {@code 2001:0db8::/32}
 * @param operator the declared operator, or {@code holder:<id>} when none was declared
 */
public record FailureDomain(HolderId holderId, String network, String widerNetwork, String operator) {
  public FailureDomain {
    if (holderId == null) {
      throw new IllegalArgumentException("a failure domain needs a holder id");
    }
  }

  /**
   * The domains of a holder at {@code address} (an IP literal; anything else stands for itself at
   * every level, so it is still kept apart from everything else, and no DNS lookup happens here).
   */
  public static FailureDomain of(HolderId holderId, String address, String operator) {
    String op = operator == null || operator.isBlank() ? "holder:" + holderId : "operator:" + operator.strip();
    String literal = address == null ? "" : address;
    if (literal.startsWith("[") && literal.endsWith("]")) {
      literal = literal.substring(1, literal.length() - 1);
    }
    if (literal.isEmpty()) {
      // Never proven: a domain of its own at every level, so it can never share with anyone.
      return new FailureDomain(holderId, "unproven:" + holderId, "unproven:" + holderId, op);
    }
    if (!literal.matches("[0-9a-fA-F.:]+")) {
      return new FailureDomain(holderId, literal, literal, op);
    }
    try {
      InetAddress a = InetAddress.getByName(literal);
      byte[] b = a.getAddress();
      if (a instanceof Inet4Address) {
        return new FailureDomain(holderId, (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + ".0/24",
            (b[0] & 0xff) + "." + (b[1] & 0xff) + ".0.0/16", op);
      }
      if (a instanceof Inet6Address) {
        HexFormat hex = HexFormat.of();
        return new FailureDomain(holderId,
            hex.formatHex(b, 0, 2) + ":" + hex.formatHex(b, 2, 4) + ":" + hex.formatHex(b, 4, 6) + "::/48",
            hex.formatHex(b, 0, 2) + ":" + hex.formatHex(b, 2, 4) + "::/32", op);
      }
    } catch (UnknownHostException e) {
      // not a literal after all: stands for itself
    }
    return new FailureDomain(holderId, literal, literal, op);
  }
}
