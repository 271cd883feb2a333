package dev.narvault.core.catalog;

/**
 * A holder's audit reputation as a slowly forgetting pass/fail record (the beta-reputation model
 * Storj publishes): each audit multiplies both counts by {@value #FORGET} and adds 1 to the one it
 * proves. The score is {@code alpha / (alpha + beta)}.
 *
 * <p>Only proof of loss counts here: bytes that do not match the manifest, or "not found" for a
 * fragment the holder should store. Timeouts, refused connections and 5xx answers are honest
 * trouble and go to the {@link SuspensionScore} instead.
 *
 * <p>A new holder starts at {@code alpha = 1 / (1 - FORGET) = 1000}, as if it had passed forever.
 * Below {@value #SUSPECT_BELOW} (11 failures in a row from a clean record) it is suspect: it
 * receives no new fragments, but its fragments still count and it is still audited, so it can
 * climb back. Below {@value #DISQUALIFIED_BELOW} (41 failures in a row) it is disqualified,
 * for good: its fragments stop counting and are rebuilt elsewhere. Every failed audit also marks
 * that one copy corrupt, so the data a liar loses is repaired long before it is disqualified.
 */
public record AuditScore(double alpha, double beta) {
  public static final double FORGET = 0.999;
  public static final double SUSPECT_BELOW = 0.99;
  public static final double DISQUALIFIED_BELOW = 0.96;
  public static final AuditScore NEW = new AuditScore(1 / (1 - FORGET), 0);

  public AuditScore {
    if (!(alpha >= 0) || !(beta >= 0) || alpha + beta == 0) {
      throw new IllegalArgumentException("audit counts must be >= 0 and not both 0, got " + alpha + "/" + beta);
    }
  }

  public AuditScore after(boolean passed) {
    return new AuditScore(FORGET * alpha + (passed ? 1 : 0), FORGET * beta + (passed ? 0 : 1));
  }

  public double value() {
    return alpha / (alpha + beta);
  }

  public boolean suspect() {
    return value() < SUSPECT_BELOW;
  }

  public boolean disqualifying() {
    return value() < DISQUALIFIED_BELOW;
  }
}
