package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A pack's id: the SHA-256 of its canonical manifest, as 64 lowercase hex characters (see
 * {@link ManifestCodec#packId}). It names the pack in the catalog, in placement orders and in log
 * lines; {@link #toString()} is the plain id, so messages read as they did with a string, and JSON
 * carries it as a plain string. Ids order as their strings do.
 *
 * <p>The check here is deliberately looser than the hash format: any non-empty id without
 * whitespace or control characters. The repair simulator and test fixtures name packs
 * synthetically ({@code "p12"}), and those ids flow through the same catalog records; ids made
 * by {@link ManifestCodec#packId} are always hashes.
 *
 * @param hex the id as stored in the catalog and sent on the wire
 */
public record PackId(@JsonValue String hex) implements Comparable<PackId> {
  /** How many characters {@link #shortForm()} keeps: enough to tell packs apart in a log. */
  private static final int SHORT_LENGTH = 12;

  @JsonCreator
  public PackId {
    if (hex == null || hex.isEmpty() || !hex.chars().allMatch(c -> c > ' ' && c != 0x7f)) {
      throw new IllegalArgumentException("pack id must be non-empty, without whitespace: '" + hex + "'");
    }
  }

  /** The first 12 characters, for log lines and work-file names. */
  public String shortForm() {
    return hex.length() > SHORT_LENGTH ? hex.substring(0, SHORT_LENGTH) : hex;
  }

  /** Ordered as the plain strings are (and as the catalog orders them). */
  @Override
  public int compareTo(PackId other) {
    return hex.compareTo(other.hex);
  }

  @Override
  public String toString() {
    return hex;
  }
}
