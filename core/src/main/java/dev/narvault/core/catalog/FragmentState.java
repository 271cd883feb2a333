package dev.narvault.core.catalog;

/**
 * Where one copy of a fragment stands on its holder, as the catalog's {@code fragments.state}
 * column records it. Only {@link #STORED} copies count towards a pack's health.
 */
public enum FragmentState {
  /** Placed and counted. */
  STORED("stored"),
  /**
   * Reported by the holder's scrub, or it failed an audit or a verified read: its good blocks may
   * still be read, verified.
   */
  CORRUPT("corrupt"),
  /**
   * Repair rebuilt it elsewhere: a surplus copy, kept as a repair and read source until its pack is
   * whole without it.
   */
  SUPERSEDED("superseded"),
  /** Restored by a catalog rebuild from a holder's listing: counts once it passes an audit. */
  UNVERIFIED("unverified");

  private final String sql;

  FragmentState(String sql) {
    this.sql = sql;
  }

  /** The column's text. */
  String sql() {
    return sql;
  }

  /** The state a column's text names; {@link IllegalArgumentException} naming any other text. */
  static FragmentState parse(String sql) {
    for (FragmentState s : values()) {
      if (s.sql.equals(sql)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown fragment state '" + sql + "'");
  }

  /** The column's text, as logs and messages printed the state when it was a string. */
  @Override
  public String toString() {
    return sql;
  }
}
