package dev.narvault.repair.simulation;

/**
 * Formulas the simulation is checked against, and which extrapolate it to rates too small to
 * simulate (11 nines cannot be observed in any number of simulated pack-years).
 */
public final class ClosedForms {
  private ClosedForms() {}

  /**
   * Probability that at least {@code k} of {@code n} independent holders, each up with probability
   * {@code uptime}, are up: a pack of k data fragments can be read.
   */
  public static double availability(int n, int k, double uptime) {
    double sum = 0;
    for (int i = k; i <= n; i++) {
      sum += Math.exp(logChoose(n, i) + i * Math.log(uptime) + (n - i) * Math.log1p(-uptime));
    }
    return Math.min(1, sum);
  }

  private static double logChoose(int n, int k) {
    double s = 0;
    for (int i = 1; i <= k; i++) {
      s += Math.log(n - k + i) - Math.log(i);
    }
    return s;
  }

  /**
   * Mean time to data loss of one pack (hours) in the eager-repair Markov model: each of the
   * {@code j} fragments left is lost at rate {@code lossPerHour}; while fewer than k + r are left,
   * repair restores all n at rate 1 / {@code repairHours}; k − 1 left is loss.
   */
  public static double meanHoursToLoss(int n, int k, int threshold, double lossPerHour, double repairHours) {
    if (lossPerHour <= 0) {
      return Double.POSITIVE_INFINITY;
    }
    double mu = 1 / repairHours;
    // T_j = a_j + b_j * T_n, from T_{k-1} = 0 upwards.
    double a = 0;
    double b = 0;
    for (int j = k; j <= n; j++) {
      double fail = j * lossPerHour;
      double repair = j < k + threshold && j < n ? mu : 0;
      double out = fail + repair;
      // T_j = (1 + fail * T_{j-1} + repair * T_n) / out
      double na = (1 + fail * a) / out;
      double nb = (fail * b + repair) / out;
      a = na;
      b = nb;
    }
    return a / (1 - b);
  }

  /**
   * Losses per pack-year from the mean time to loss: the rate, which for the small values that
   * matter is the probability that a pack is lost within a year.
   */
  public static double lossesPerPackYear(double meanHoursToLoss) {
    return Simulation.HOURS_PER_YEAR / meanHoursToLoss;
  }

  /**
   * A 95 % interval for a Poisson rate from {@code events} in {@code exposure} (Wilson–Hilferty
   * approximation of the exact chi-square bounds; for 0 events the upper bound is ≈ 3 / exposure).
   */
  public static double[] poissonInterval(long events, double exposure) {
    double lower = events == 0 ? 0 : events * Math.pow(1 - 1.0 / (9 * events) - 1.96 / (3 * Math.sqrt(events)), 3);
    long u = events + 1;
    double upper = u * Math.pow(1 - 1.0 / (9 * u) + 1.96 / (3 * Math.sqrt(u)), 3);
    return new double[] {Math.max(0, lower) / exposure, upper / exposure};
  }
}
