package dev.narvault.repair.simulation;

import java.time.Duration;
import java.util.List;

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
 * @param population classes of holders by uptime (servers, laptops); empty: every holder at {@code uptime}
 * @param auditInterval how often an online holder passes an audit (the coordinator's {@code --audit-interval})
 * @param vettingAudits audits a new holder must pass, besides {@code vettingPeriod}, to be vetted
 * @param maxUnvettedPerPack fragments of one pack that unvetted holders may hold together
 * @param sybilWiderNetworks wider networks (/16s) the Sybil bloc's identities are spread over, each
 *     in a /24 of its own; 0: the bloc is hidden (every identity in a wider network of its own)
 * @param custody the custody rules: a superseded copy is kept while its pack is not whole, counts
 *     against loss, is revived when its holder returns and its index is missing, and is collected
 *     only once the pack is whole; false: the old rule (a superseded copy is dropped at once)
 * @param liars holders that keep only part of what they are given and answer as if they kept it
 *     all: the coordinator's audits and audit score ({@link dev.narvault.core.catalog.AuditScore})
 *     find them out
 * @param away holders that declare absences ({@code POST /v1/away}): not counted offline meanwhile,
 *     within the coordinator's rules ({@link dev.narvault.core.catalog.HolderAway}, the excuse margin)
 */
public record SimulationConfig(int holders, int packs, int dataFragmentCount, int parityFragmentCount, int threshold,
    double years, double uptime, double meanOfflineHours, double weibullShape, double departuresPerMonth,
    Duration offlineAfter, Duration vettingPeriod, Duration checkInterval, long repairBytesPerSecond,
    long fragmentBytes, int holdersPerNetwork, double networkFailuresPerYear, double sybilShare,
    double corruptionPerFragmentYear, int readsPerCheck, long seed, List<HolderClass> population,
    Duration auditInterval, int vettingAudits, int maxUnvettedPerPack, int sybilWiderNetworks, boolean custody,
    Liars liars, Away away) {
  /**
   * Absences: {@code share} of holders each take one absence of {@code hours} a month on average
   * (at random times), go quiet for exactly that long and come back; {@code declared}: they say so
   * first ({@code POST /v1/away}), otherwise the coordinator sees only silence (the comparison that
   * shows what forgiveness itself costs).
   */
  public record Away(double share, double hours, boolean declared) {
    public static final Away NONE = new Away(0, 0, true);

    public Away(double share, double hours) {
      this(share, hours, true);
    }

    /** The same absences, not declared. */
    public Away undeclared() {
      return new Away(share, hours, false);
    }

    public Away {
      if (!(share >= 0 && share <= 1) || !(hours >= 0 && hours <= 7 * 24)) {
        throw new IllegalArgumentException("away needs a share in [0, 1] and hours in [0, 168], got " + share + "@"
            + hours);
      }
    }

    /** Parses {@code SHARE@HOURS}, e.g. {@code 0.3@60}, or {@code 0} for none. */
    public static Away parse(String spec) {
      double[] pair = sharePair(spec, "away is SHARE@HOURS (e.g. 0.3@60: 30% of holders declare a 60-hour "
          + "absence about once a month), or 0");
      return pair == null ? NONE : new Away(pair[0], pair[1]);
    }
  }

  /**
   * Dishonest holders: {@code share} of new holders silently lose {@code loss} of the fragments
   * they are given (they never keep them) while answering heartbeats and proofs as usual.
   */
  public record Liars(double share, double loss) {
    public static final Liars NONE = new Liars(0, 0);

    public Liars {
      if (!(share >= 0 && share < 1) || !(loss >= 0 && loss <= 1)) {
        throw new IllegalArgumentException("liars need a share in [0, 1) and a loss in [0, 1], got " + share + "@"
            + loss);
      }
    }

    /** Parses {@code SHARE@LOSS}, e.g. {@code 0.05@0.2}, or {@code 0} for none. */
    public static Liars parse(String spec) {
      double[] pair = sharePair(spec, "liars are SHARE@LOSS (e.g. 0.05@0.2: 5% of holders lose 20% of what they "
          + "hold), or 0");
      return pair == null ? NONE : new Liars(pair[0], pair[1]);
    }
  }

  /** The two numbers of {@code A@B}, or null for {@code 0}; anything else is refused with {@code usage}. */
  private static double[] sharePair(String spec, String usage) {
    String text = spec.strip();
    if (text.equals("0")) {
      return null;
    }
    String[] parts = text.split("@");
    try {
      if (parts.length == 2) {
        return new double[] {Double.parseDouble(parts[0]), Double.parseDouble(parts[1])};
      }
    } catch (NumberFormatException e) {
      // the message below says what is wanted
    }
    throw new IllegalArgumentException(usage + ", got " + spec);
  }

  /** Without liars. */
  public SimulationConfig(int holders, int packs, int dataFragmentCount, int parityFragmentCount, int threshold,
      double years, double uptime, double meanOfflineHours, double weibullShape, double departuresPerMonth,
      Duration offlineAfter, Duration vettingPeriod, Duration checkInterval, long repairBytesPerSecond,
      long fragmentBytes, int holdersPerNetwork, double networkFailuresPerYear, double sybilShare,
      double corruptionPerFragmentYear, int readsPerCheck, long seed, List<HolderClass> population,
      Duration auditInterval, int vettingAudits, int maxUnvettedPerPack, int sybilWiderNetworks, boolean custody) {
    this(holders, packs, dataFragmentCount, parityFragmentCount, threshold, years, uptime, meanOfflineHours,
        weibullShape, departuresPerMonth, offlineAfter, vettingPeriod, checkInterval, repairBytesPerSecond,
        fragmentBytes, holdersPerNetwork, networkFailuresPerYear, sybilShare, corruptionPerFragmentYear, readsPerCheck,
        seed, population, auditInterval, vettingAudits, maxUnvettedPerPack, sybilWiderNetworks, custody, Liars.NONE,
        Away.NONE);
  }

  /** A share of the holders with one uptime (e.g. 30 % servers at 0.98). */
  public record HolderClass(double share, double uptime) {
    public HolderClass {
      if (!(share > 0 && share <= 1) || !(uptime > 0 && uptime <= 1)) {
        throw new IllegalArgumentException("a holder class needs a share in (0, 1] and an uptime in (0, 1], got "
            + share + "@" + uptime);
      }
    }

    /** Parses {@code 0.3@0.98,0.7@0.55} (shares summing to 1). */
    public static List<HolderClass> parse(String spec) {
      List<HolderClass> classes = new java.util.ArrayList<>();
      for (String part : spec.split(",")) {
        String[] su = part.strip().split("@");
        if (su.length != 2) {
          throw new IllegalArgumentException("a holder class is SHARE@UPTIME (e.g. 0.3@0.98), got " + part);
        }
        try {
          classes.add(new HolderClass(Double.parseDouble(su[0]), Double.parseDouble(su[1])));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("a holder class is SHARE@UPTIME (e.g. 0.3@0.98), got " + part, e);
        }
      }
      return List.copyOf(classes);
    }
  }

  /** The rules of the coordinator before custody: no audits, no vetting limit, no custody, one uptime. */
  public SimulationConfig(int holders, int packs, int dataFragmentCount, int parityFragmentCount, int threshold,
      double years, double uptime, double meanOfflineHours, double weibullShape, double departuresPerMonth,
      Duration offlineAfter, Duration vettingPeriod, Duration checkInterval, long repairBytesPerSecond,
      long fragmentBytes, int holdersPerNetwork, double networkFailuresPerYear, double sybilShare,
      double corruptionPerFragmentYear, int readsPerCheck, long seed) {
    this(holders, packs, dataFragmentCount, parityFragmentCount, threshold, years, uptime, meanOfflineHours,
        weibullShape, departuresPerMonth, offlineAfter, vettingPeriod, checkInterval, repairBytesPerSecond,
        fragmentBytes, holdersPerNetwork, networkFailuresPerYear, sybilShare, corruptionPerFragmentYear, readsPerCheck,
        seed, List.of(), Duration.ofMinutes(5), 0, Integer.MAX_VALUE, 0, false, Liars.NONE,
        Away.NONE);
  }

  public SimulationConfig {
    population = List.copyOf(population);
    java.util.Objects.requireNonNull(liars, "liars");
    java.util.Objects.requireNonNull(away, "away");
    if (!population.isEmpty()) {
      double total = population.stream().mapToDouble(HolderClass::share).sum();
      if (Math.abs(total - 1) > 1e-6) {
        throw new IllegalArgumentException("holder class shares must sum to 1, got " + total);
      }
    }
    if (auditInterval.isNegative() || auditInterval.isZero() || vettingAudits < 0 || maxUnvettedPerPack < 0
        || sybilWiderNetworks < 0) {
      throw new IllegalArgumentException("audit interval must be positive; vetting audits, unvetted per pack and "
          + "Sybil networks >= 0");
    }
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

  /** Mean uptime over the population. */
  public double meanUptime() {
    return population.isEmpty() ? uptime
        : population.stream().mapToDouble(h -> h.share() * h.uptime()).sum();
  }

  public int totalFragmentCount() {
    return dataFragmentCount + parityFragmentCount;
  }

  public int effectiveThreshold() {
    return threshold >= 0 ? threshold : dev.narvault.repair.policy.PackHealth.defaultThreshold(parityFragmentCount);
  }
}
