package dev.narvault.core.nix;

import java.util.Base64;

/** Splitting and checking Nix's {@code name:base64} notation for keys and signatures. */
final class KeyNames {
  record Parsed(String name, byte[] bytes) {}

  private KeyNames() {}

  static String validate(String name) {
    if (name == null || name.isEmpty() || name.indexOf(':') >= 0 || name.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("invalid key name '" + name + "'");
    }
    return name;
  }

  static Parsed split(String text, String what) {
    int colon = text.indexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException(what + " must look like name:base64, got '" + abbreviate(text) + "'");
    }
    try {
      return new Parsed(validate(text.substring(0, colon)), Base64.getDecoder().decode(text.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " '" + text.substring(0, colon) + "' has invalid base64", e);
    }
  }

  private static String abbreviate(String s) {
    return s.length() > 20 ? s.substring(0, 20) + "…" : s;
  }
}
