package dev.narvault.core.catalog;

/**
 * A holder's record of honest trouble: audits, proofs, reads and deletes that timed out, were
 * refused, or got a 5xx answer (a volunteer's reverse proxy, a restarting machine). The same
 * forgetting model as {@link AuditScore}, but faster ({@value #FORGET}) and recoverable: below
 * {@value #SUSPENDED_BELOW} the holder is suspended (no new fragments) until answers succeed
 * again; it is never disqualified for it. Being unreachable for a long time is liveness
 * ({@code --offline-after}), judged apart.
 */
public record SuspensionScore(double alpha, double beta) {
  public static final double FORGET = 0.99;
  public static final double SUSPENDED_BELOW = 0.6;
  public static final SuspensionScore NEW = new SuspensionScore(1 / (1 - FORGET), 0);

  public SuspensionScore {
    if (!(alpha >= 0) || !(beta >= 0) || alpha + beta == 0) {
      throw new IllegalArgumentException("suspension counts must be >= 0 and not both 0, got " + alpha + "/" + beta);
    }
  }

  public SuspensionScore after(boolean answered) {
    return new SuspensionScore(FORGET * alpha + (answered ? 1 : 0), FORGET * beta + (answered ? 0 : 1));
  }

  public double value() {
    return alpha / (alpha + beta);
  }

  public boolean suspended() {
    return value() < SUSPENDED_BELOW;
  }
}
