package dev.narvault.core.holder;

import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.time.Instant;
import java.util.Locale;

/**
 * A coordinator's order to one holder: store ({@code put}), delete (into the holder's trash) or
 * restore (out of it) one fragment of a given size and block size, or read one range of it for an
 * audit ({@code audit}), before it expires, once. Holders accept writes only with an order signed
 * by the coordinator's key, so strangers cannot fill a volunteer's disk or delete what it holds;
 * reads need none, and an audit order only marks a read as the coordinator's audit, which a
 * holder neither counts against nor refuses for its monthly upload quota. The nonce makes each
 * order single-use (the holder remembers the nonces it accepted until they expire), so an order
 * seen on the wire cannot be replayed, e.g. a delete after the fragment was placed on that holder
 * again.
 *
 * <p>Signed text:
 * {@code narvault-order/2;<action>;<fragment id>;<size>;<block size>;<holder id>;<expiry epoch s>;<nonce>}
 * (size and block size 0 for a delete or a restore; for an audit the size is the length of the
 * range read and the block size 0; nonce: 32 hex digits). The action is part of
 * the signed text, so an order for one action can never be used for another. Sent as headers {@value #HEADER} (the text)
 * and {@value #SIGNATURE_HEADER} ({@code name:base64}).
 */
public record Order(Action action, FragmentId fragmentId, long size, int blockSize, String holderId, Instant expires,
    String nonce) {
  public static final String HEADER = "X-Narvault-Order";
  public static final String SIGNATURE_HEADER = "X-Narvault-Order-Signature";
  private static final String PREFIX = "narvault-order/2";
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /**
   * What the order allows: {@code PUT}, {@code DELETE} or {@code POST …/restore} of the fragment,
   * or a ranged {@code GET} of it that is the coordinator's audit.
   */
  public enum Action {
    PUT, DELETE, RESTORE, AUDIT
  }

  public Order {
    if (size < 0) {
      throw new IllegalArgumentException("order size must be >= 0, got " + size);
    }
    if (blockSize < 0 || (action == Action.PUT && blockSize < 1)) {
      throw new IllegalArgumentException("order block size must be >= 1 for a put (0 otherwise), got " + blockSize);
    }
    if (holderId == null || holderId.isEmpty() || holderId.indexOf(';') >= 0) {
      throw new IllegalArgumentException("bad holder id in order: '" + holderId + "'");
    }
    if (nonce == null || !nonce.matches("[0-9a-f]{32}")) {
      throw new IllegalArgumentException("order nonce must be 32 hex digits, got '" + nonce + "'");
    }
  }

  /** A new order with a fresh random nonce. */
  public Order(Action action, FragmentId fragmentId, long size, int blockSize, String holderId, Instant expires) {
    this(action, fragmentId, size, blockSize, holderId, expires, freshNonce());
  }

  private static String freshNonce() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return java.util.HexFormat.of().formatHex(bytes);
  }

  public String text() {
    return PREFIX + ";" + action.name().toLowerCase(Locale.ROOT) + ";" + fragmentId.hex() + ";" + size + ";"
        + blockSize + ";" + holderId + ";" + expires.getEpochSecond() + ";" + nonce;
  }

  /** Parses the header text; malformed text is an IllegalArgumentException. */
  public static Order parse(String text) {
    if (text.length() > MAX_TEXT) {
      throw new IllegalArgumentException("order text longer than " + MAX_TEXT + " characters");
    }
    String[] parts = text.split(";", -1);
    if (parts.length != 8 || !parts[0].equals(PREFIX)) {
      throw new IllegalArgumentException("not a narvault order (" + PREFIX + "): '" + text + "'");
    }
    try {
      return new Order(Action.valueOf(parts[1].toUpperCase(Locale.ROOT)), new FragmentId(parts[2]),
          Long.parseLong(parts[3]), Integer.parseInt(parts[4]), parts[5], Instant.ofEpochSecond(Long.parseLong(parts[6])),
          parts[7]);
    } catch (NumberFormatException | java.time.DateTimeException e) {
      throw new IllegalArgumentException("malformed order '" + text + "'", e);
    }
  }

  /** Longest order text accepted: the fields above with a long holder id. */
  static final int MAX_TEXT = 1024;

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
