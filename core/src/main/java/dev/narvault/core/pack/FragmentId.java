package dev.narvault.core.pack;

import java.util.HexFormat;

/**
 * A fragment's content address: SHA-256 over a domain tag, the fragment length, the block size and
 * its block hashes (see {@code docs/format.md}), as 64 lowercase hex characters.
 */
public record FragmentId(@com.fasterxml.jackson.annotation.JsonValue String hex) {
  @com.fasterxml.jackson.annotation.JsonCreator
  public FragmentId {
    if (hex == null || hex.length() != 64 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException("fragment id must be 64 lowercase hex characters: '" + hex + "'");
    }
  }

  static FragmentId of(byte[] digest) {
    return new FragmentId(HexFormat.of().formatHex(digest));
  }

  @Override
  public String toString() {
    return hex;
  }
}
