package dev.narvault.core.holder;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A holder's id, derived from its identity key (see {@link HolderIdentity#holderId}): 32 nix32
 * characters. It names the holder in the catalog, in placement grants and in log lines;
 * {@link #toString()} is the plain id, so messages read as they did with a string, and JSON
 * carries it as a plain string. Ids order as their strings do.
 *
 * <p>The check here is deliberately looser than the key-derived format: any non-empty id without
 * whitespace or control characters. The repair simulator and test fixtures name holders
 * synthetically ({@code "h3"}), and those ids flow through the same catalog records.
 *
 * @param value the id as stored in the catalog and sent on the wire
 */
public record HolderId(@JsonValue String value) implements Comparable<HolderId> {
  /** How many characters {@link #shortForm()} keeps: enough to tell holders apart in a log. */
  private static final int SHORT_LENGTH = 12;

  @JsonCreator
  public HolderId {
    if (value == null || value.isEmpty() || !value.chars().allMatch(c -> c > ' ' && c != 0x7f)) {
      throw new IllegalArgumentException("holder id must be non-empty, without whitespace: '" + value + "'");
    }
  }

  /** The first 12 characters, for log lines. */
  public String shortForm() {
    return value.length() > SHORT_LENGTH ? value.substring(0, SHORT_LENGTH) : value;
  }

  /** Ordered as the plain strings are (and as the catalog orders them). */
  @Override
  public int compareTo(HolderId other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
