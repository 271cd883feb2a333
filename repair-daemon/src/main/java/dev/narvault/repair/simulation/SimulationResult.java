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
 * @param meanRepairHours mean time from a copy's loss to its rebuild (with a lazy threshold, most of
 *     it is waiting for the pack to fall below the threshold)
 * @param modelRepairHours the repair time the model is given: offline-after (until a loss is
 *     noticed) plus the mean time a pack below its threshold waited for its rebuild
 * @param modelledLossPerPackYear the Markov model with the threshold, the measured copy-loss rate
 *     and {@code modelRepairHours}: the extrapolation to loss rates too small to observe
 * @param copiesRevived superseded copies that counted again when their holders returned (custody)
 * @param copiesCollected superseded copies deleted once their packs were whole (custody)
 * @param packsKeptByCustody times a pack had fewer than k stored copies left and kept copies on
 *     returning holders made up the rest: losses under the old rule
 * @param repairsFromKeptCopies rebuilds that fewer than k counted copies online could not have
 *     read: kept copies of returning holders made up the k sources
 * @param liarsDisqualified lying holders whose audit score fell below the disqualification line
 * @param lostCopiesFoundByAudits copies a liar claimed and did not keep, found by a failed audit
 *     (marked corrupt and rebuilt) before anything needed them
 * @param absencesDeclared absences declared and accepted ({@code --away}; undeclared: absences taken)
 * @param absencesRefused absences the rules refused (allowance spent, not vetted), taken anyway
 */
public record SimulationResult(int dataFragmentCount, int parityFragmentCount, int threshold, double overhead,
    double years, double packYears, long losses, double lossPerPackYear, double lossLow, double lossHigh,
    double availability, long reads, double repairPerMonth, long fragmentsRebuilt, double copyLossPerYear,
    double meanRepairHours, double modelRepairHours, double modelledLossPerPackYear, long copiesRevived,
    long copiesCollected, long packsKeptByCustody, long repairsFromKeptCopies, long liarsDisqualified,
    long lostCopiesFoundByAudits, long absencesDeclared, long absencesRefused) {

  public String code() {
    return dataFragmentCount + "+" + parityFragmentCount;
  }
}
