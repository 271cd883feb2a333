package dev.narvault.core.catalog;

/**
 * Whether a holder means to stay, as the catalog's {@code holders.state} column records it. (How
 * the coordinator judges a holder from its whole row and the time is a different thing: the
 * repair daemon's {@code HolderState}.)
 */
public enum HolderStatus {
  /** Registered and staying. */
  ONLINE("online"),
  /** Announced it is leaving: repair moves its fragments. */
  EXITING("exiting");

  private final String sql;

  HolderStatus(String sql) {
    this.sql = sql;
  }

  /** The column's text. */
  String sql() {
    return sql;
  }

  /** The status a column's text names; {@link IllegalArgumentException} naming any other text. */
  static HolderStatus parse(String sql) {
    for (HolderStatus s : values()) {
      if (s.sql.equals(sql)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown holder status '" + sql + "'");
  }

  /** The column's text, as logs and messages printed the status when it was a string. */
  @Override
  public String toString() {
    return sql;
  }
}
