package dev.narvault.core.catalog;

/**
 * A holder's standing from its audits, as the catalog's {@code holders.audit_state} column records
 * it; {@link AuditScore} moves it.
 */
public enum AuditState {
  /** In good standing. */
  OK("ok"),
  /** Its audits fell below the suspect line: no new fragments, its own still count. */
  SUSPECT("suspect"),
  /** Disqualified for good: its fragments no longer count. */
  DISQUALIFIED("disqualified");

  private final String sql;

  AuditState(String sql) {
    this.sql = sql;
  }

  /** The column's text. */
  String sql() {
    return sql;
  }

  /** The state a column's text names; {@link IllegalArgumentException} naming any other text. */
  static AuditState parse(String sql) {
    for (AuditState s : values()) {
      if (s.sql.equals(sql)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown audit state '" + sql + "'");
  }

  /** The column's text, as logs and messages printed the state when it was a string. */
  @Override
  public String toString() {
    return sql;
  }
}
