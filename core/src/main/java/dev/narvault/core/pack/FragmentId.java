package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.HexFormat;

/**
 * A fragment's content address: SHA-256 over a domain tag, the fragment length, the block size and
 * its block hashes (see {@code docs/format.md}), as 64 lowercase hex characters.
 */
public record FragmentId(@JsonValue String hex) {
  @JsonCreator
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
