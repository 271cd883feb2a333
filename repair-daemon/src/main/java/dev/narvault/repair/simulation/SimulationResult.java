package dev.narvault.repair.simulation;

/**
 * What one simulated code did.
 *
 * @param overhead stored bytes per data byte, (k + m) / k
 * @param lossPerPackYear packs lost per pack-year observed, with its 95 % interval
 * @param availability share of sampled read attempts that found k fragments on online holders
 * @param repairPerMonth repair traffic (k fragments read plus those rebuilt written) per byte of
 *     archived data per month: 0.05 means 50 GB a month per TB archived
 * @param copyLossPerYear rate at which a stored fragment copy is lost for good (holder left, rot)
 * @param meanRepairHours mean time from a copy's loss to its rebuild
 * @param modelledLossPerPackYear the eager-repair Markov model with the two measured rates above:
 *     the extrapolation to loss rates too small to observe
 */
public record SimulationResult(int dataFragmentCount, int parityFragmentCount, int threshold, double overhead,
    double years, double packYears, long losses, double lossPerPackYear, double lossLow, double lossHigh,
    double availability, long reads, double repairPerMonth, long fragmentsRebuilt, double copyLossPerYear,
    double meanRepairHours, double modelledLossPerPackYear) {

  public String code() {
    return dataFragmentCount + "+" + parityFragmentCount;
  }
}
