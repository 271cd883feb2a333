package dev.narvault.repair.simulation;

import java.time.Duration;

/**
 * One simulated world and one code.
 *
 * @param holders holders at any time (each one leaving is replaced by a new one joining)
 * @param packs packs stored
 * @param dataFragmentCount k
 * @param parityFragmentCount m
 * @param threshold repair below k + threshold healthy fragments; negative: the coordinator's default ⌈m/2⌉
 * @param years simulated time
 * @param uptime share of time a holder is online (1: always)
 * @param meanOfflineHours mean length of an offline period
 * @param weibullShape shape of online and offline period lengths (1: exponential; below 1: heavy-tailed)
 * @param departuresPerMonth share of holders leaving for good each month (with their fragments)
 * @param offlineAfter the coordinator's {@code --offline-after}: silence after which fragments count as lost
 * @param vettingPeriod how long a new holder waits before it receives fragments
 * @param checkInterval how often the coordinator runs a repair round
 * @param repairBytesPerSecond the coordinator's repair traffic cap (0: none)
 * @param fragmentBytes size of one fragment (pack size / k)
 * @param holdersPerNetwork holders sharing one /24 (placement keeps each pack's fragments on distinct ones)
 * @param networkFailuresPerYear times a year a whole /24 leaves at once, with its holders' fragments
 * @param sybilShare share of holders, in one hidden bloc with distinct networks and operators, that
 *     leaves at once half-way through (0: none)
 * @param corruptionPerFragmentYear chance a stored fragment rots in a year (found by scrub, reported)
 * @param readsPerCheck read attempts sampled per repair round (availability)
 * @param seed random seed: the same seed gives the same run
 */
public record SimulationConfig(int holders, int packs, int dataFragmentCount, int parityFragmentCount, int threshold,
    double years, double uptime, double meanOfflineHours, double weibullShape, double departuresPerMonth,
    Duration offlineAfter, Duration vettingPeriod, Duration checkInterval, long repairBytesPerSecond,
    long fragmentBytes, int holdersPerNetwork, double networkFailuresPerYear, double sybilShare,
    double corruptionPerFragmentYear, int readsPerCheck, long seed) {
  public SimulationConfig {
    int n = dataFragmentCount + parityFragmentCount;
    if (dataFragmentCount < 1 || parityFragmentCount < 0 || n > 256) {
      throw new IllegalArgumentException("code must have k >= 1, m >= 0, k + m <= 256, got " + dataFragmentCount
          + "+" + parityFragmentCount);
    }
    if (holders < n + 1) {
      throw new IllegalArgumentException(holders + " holders cannot keep " + n + " fragments apart and repair them");
    }
    if (packs < 1 || !(years > 0) || !(uptime > 0 && uptime <= 1) || !(meanOfflineHours > 0) || !(weibullShape > 0)
        || departuresPerMonth < 0 || departuresPerMonth >= 1 || holdersPerNetwork < 1 || networkFailuresPerYear < 0
        || sybilShare < 0 || sybilShare >= 1 || corruptionPerFragmentYear < 0 || readsPerCheck < 0
        || fragmentBytes < 1 || repairBytesPerSecond < 0) {
      throw new IllegalArgumentException("simulation parameters out of range: " + this);
    }
    if (checkInterval.isNegative() || checkInterval.isZero() || offlineAfter.isNegative() || offlineAfter.isZero()) {
      throw new IllegalArgumentException("check interval and offline-after must be positive");
    }
  }

  public int totalFragmentCount() {
    return dataFragmentCount + parityFragmentCount;
  }

  public int effectiveThreshold() {
    return threshold >= 0 ? threshold : dev.narvault.repair.policy.PackHealth.defaultThreshold(parityFragmentCount);
  }
}
