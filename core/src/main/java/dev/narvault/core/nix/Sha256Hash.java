package dev.narvault.core.nix;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/**
 * A SHA-256 digest as Nix writes it in narinfo files. Nix accepts {@code sha256:<nix32>},
 * {@code sha256:<hex>}, {@code sha256:<base64>} and SRI {@code sha256-<base64>}; narvault parses all
 * four and renders nix32, the form Nix itself writes and signs.
 */
public record Sha256Hash(byte[] bytes) {
  public static final int LENGTH = 32;

  public Sha256Hash {
    if (bytes == null || bytes.length != LENGTH) {
      throw new IllegalArgumentException(
          "a SHA-256 digest has 32 bytes, got " + (bytes == null ? "null" : bytes.length));
    }
    bytes = bytes.clone();
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  /** Parses any of the textual forms Nix accepts for a SHA-256 hash. */
  public static Sha256Hash parse(String text) {
    String body;
    boolean sri = false;
    if (text.startsWith("sha256:")) {
      body = text.substring("sha256:".length());
    } else if (text.startsWith("sha256-")) {
      body = text.substring("sha256-".length());
      sri = true;
    } else {
      throw new IllegalArgumentException(
          "hash must start with 'sha256:' or 'sha256-' (other algorithms are not used by binary caches): '"
              + text + "'");
    }
    try {
      if (sri) {
        return new Sha256Hash(Base64.getDecoder().decode(body));
      }
      return switch (body.length()) {
        case 52 -> new Sha256Hash(NixBase32.decode(body, LENGTH));
        case 64 -> new Sha256Hash(HexFormat.of().parseHex(body));
        case 44 -> new Sha256Hash(Base64.getDecoder().decode(body));
        default -> throw new IllegalArgumentException("wrong length " + body.length());
      };
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("malformed SHA-256 hash '" + text + "': " + e.getMessage(), e);
    }
  }

  public static Sha256Hash of(byte[] data) {
    return new Sha256Hash(newDigest().digest(data));
  }

  /** A fresh SHA-256 {@link MessageDigest}; every JDK has one. */
  public static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** {@code sha256:<nix32>}, as Nix writes it. */
  public String toNixString() {
    return "sha256:" + NixBase32.encode(bytes);
  }

  public String toNix32() {
    return NixBase32.encode(bytes);
  }

  public String toHex() {
    return HexFormat.of().formatHex(bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Sha256Hash other && MessageDigest.isEqual(bytes, other.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return toNixString();
  }
}
