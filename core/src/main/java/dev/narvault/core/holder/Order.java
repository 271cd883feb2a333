package dev.narvault.core.holder;

import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.time.Instant;
import java.util.Locale;

/**
 * A coordinator's order to one holder: store ({@code put}) or delete one fragment of a given size,
 * before it expires. Holders accept writes only with an order signed by the coordinator's key, so
 * strangers cannot fill a volunteer's disk or delete what it holds.
 *
 * <p>Signed text: {@code narvault-order/1;<action>;<fragment id>;<size>;<holder id>;<expiry epoch s>}.
 * Sent as headers {@value #HEADER} (the text) and {@value #SIGNATURE_HEADER} ({@code name:base64}).
 */
public record Order(Action action, FragmentId fragmentId, long size, String holderId, Instant expires) {
  public static final String HEADER = "X-Narvault-Order";
  public static final String SIGNATURE_HEADER = "X-Narvault-Order-Signature";
  private static final String PREFIX = "narvault-order/1";

  /** What the order allows. */
  public enum Action {
    PUT, DELETE
  }

  public Order {
    if (size < 0) {
      throw new IllegalArgumentException("order size must be >= 0, got " + size);
    }
    if (holderId == null || holderId.isEmpty() || holderId.indexOf(';') >= 0) {
      throw new IllegalArgumentException("bad holder id in order: '" + holderId + "'");
    }
  }

  public String text() {
    return PREFIX + ";" + action.name().toLowerCase(Locale.ROOT) + ";" + fragmentId.hex() + ";" + size
        + ";" + holderId + ";" + expires.getEpochSecond();
  }

  /** Parses the header text; malformed text is an IllegalArgumentException. */
  public static Order parse(String text) {
    String[] parts = text.split(";", -1);
    if (parts.length != 6 || !parts[0].equals(PREFIX)) {
      throw new IllegalArgumentException("not a narvault order: '" + text + "'");
    }
    try {
      return new Order(Action.valueOf(parts[1].toUpperCase(Locale.ROOT)), new FragmentId(parts[2]),
          Long.parseLong(parts[3]), parts[4], Instant.ofEpochSecond(Long.parseLong(parts[5])));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("malformed order '" + text + "'", e);
    }
  }

  /** The order with the coordinator's signature. */
  public record Signed(Order order, String signature) {
    public boolean verifiedBy(NixPublicKey coordinator) {
      return coordinator.verifies(order.text(), signature);
    }
  }

  public Signed signWith(NixSecretKey coordinator) {
    return new Signed(this, coordinator.signLine(text()));
  }
}
