package dev.narvault.core.catalog;

/**
 * A holder's audit reputation as a decaying pass/fail record (the beta-reputation model Storj
 * uses): each audit multiplies both counts by {@value #FORGET} and adds 1 to the one it proves.
 * The score is {@code alpha / (alpha + beta)}; below {@value #SUSPECT_BELOW} the holder is
 * suspect and its fragments stop counting as healthy.
 *
 * <p>A new holder starts at {@code alpha = 1 / (1 - FORGET) = 20}, as if it had passed forever.
 * One failure drops it to 0.95 (suspect at once); it takes five passes in a row to climb back
 * over 0.96, two failures about nine. One pass never wipes a record of failures.
 */
public record AuditScore(double alpha, double beta) {
  public static final double FORGET = 0.95;
  public static final double SUSPECT_BELOW = 0.96;
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
}
