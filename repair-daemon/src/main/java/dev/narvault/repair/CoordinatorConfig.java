package dev.narvault.repair;

import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.repair.policy.HolderRules;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The coordinator's settings, validated once.
 *
 * @param coordinatorKey signs placement and delete orders; holders trust its public half
 * @param workerKeys keys whose signed placement requests are granted (migrate workers)
 * @param archiveKeys when given, manifests are checked against these before repair or audits trust them
 * @param repairThreshold r: repair packs below k + r healthy fragments; negative = ⌈m/2⌉ per pack
 * @param repairInterval pause between repair rounds (each also collects garbage); zero: no repair loop
 * @param auditInterval pause between audit rounds; zero: no audits
 * @param maxRepairBytesPerSecond cap on repair traffic, 0 = none
 * @param workDir where rebuilt fragments wait for placement
 * @param limits per-pack failure-domain limits (negative: the default for each code)
 * @param allowPrivateHolders accept holders at loopback and private addresses: development on one
 *     machine only, never for an archive holding real data among strangers
 * @param owner this coordinator's stable name for repair claims (the same after a restart); empty: one made up at first start and kept in {@code workDir} (see {@code Coordinator.claimOwner})
 * @param forgetAfter a holder neither heard from nor reached for this long is gone for good: its
 *     copies that no longer count are forgotten once their packs are whole without them
 */
public record CoordinatorConfig(InetSocketAddress bind, NixSecretKey coordinatorKey, List<NixPublicKey> workerKeys,
    Optional<TrustedKeys> archiveKeys, HolderRules rules, int repairThreshold, Duration repairInterval,
    Duration auditInterval, long maxRepairBytesPerSecond, Duration maxSkew, Path workDir, DomainLimits limits,
    boolean allowPrivateHolders, String owner, Duration forgetAfter) {
  /**
   * The default for {@link #forgetAfter}: a month, well past an absence (7 days) and a holder's
   * trash, or twice {@code --offline-after} if that is longer.
   */
  public static final Duration FORGET_AFTER = Duration.ofDays(30);

  /** The defaults for what is not given: default domain limits, public holders only, owner from the bind address. */
  public CoordinatorConfig(InetSocketAddress bind, NixSecretKey coordinatorKey, List<NixPublicKey> workerKeys,
      Optional<TrustedKeys> archiveKeys, HolderRules rules, int repairThreshold, Duration repairInterval,
      Duration auditInterval, long maxRepairBytesPerSecond, Duration maxSkew, Path workDir) {
    this(bind, coordinatorKey, workerKeys, archiveKeys, rules, repairThreshold, repairInterval, auditInterval,
        maxRepairBytesPerSecond, maxSkew, workDir, DomainLimits.DEFAULT, false, "",
        max(FORGET_AFTER, rules.offlineAfter().multipliedBy(2)));
  }

  /** The same, accepting holders at loopback and private addresses (development on one machine). */
  public CoordinatorConfig allowingPrivateHolders() {
    return new CoordinatorConfig(bind, coordinatorKey, workerKeys, archiveKeys, rules, repairThreshold, repairInterval,
        auditInterval, maxRepairBytesPerSecond, maxSkew, workDir, limits, true, owner, forgetAfter);
  }

  /** The same with these domain limits. */
  public CoordinatorConfig withLimits(DomainLimits newLimits) {
    return new CoordinatorConfig(bind, coordinatorKey, workerKeys, archiveKeys, rules, repairThreshold, repairInterval,
        auditInterval, maxRepairBytesPerSecond, maxSkew, workDir, newLimits, allowPrivateHolders, owner, forgetAfter);
  }

  /** The same with this claim owner (empty: one kept in the work directory). */
  public CoordinatorConfig withOwner(String newOwner) {
    return new CoordinatorConfig(bind, coordinatorKey, workerKeys, archiveKeys, rules, repairThreshold, repairInterval,
        auditInterval, maxRepairBytesPerSecond, maxSkew, workDir, limits, allowPrivateHolders, newOwner, forgetAfter);
  }

  /** The same with this {@link #forgetAfter}. */
  public CoordinatorConfig withForgetAfter(Duration newForgetAfter) {
    return new CoordinatorConfig(bind, coordinatorKey, workerKeys, archiveKeys, rules, repairThreshold, repairInterval,
        auditInterval, maxRepairBytesPerSecond, maxSkew, workDir, limits, allowPrivateHolders, owner, newForgetAfter);
  }


  public CoordinatorConfig {
    workerKeys = List.copyOf(workerKeys);
    if (repairThreshold > 255) {
      throw new IllegalArgumentException("repair threshold must be below 256, got " + repairThreshold);
    }
    if (repairInterval.isNegative() || auditInterval.isNegative() || maxSkew.isNegative() || maxSkew.isZero()) {
      throw new IllegalArgumentException("intervals must be >= 0 and the clock skew > 0");
    }
    if (forgetAfter.compareTo(rules.offlineAfter().multipliedBy(2)) < 0 || forgetAfter.compareTo(Duration.ofDays(8)) < 0) {
      throw new IllegalArgumentException("forget-after must be at least 8 days (past a 7-day absence) and twice "
          + "offline-after (" + rules.offlineAfter() + "), got " + forgetAfter);
    }
    if (maxRepairBytesPerSecond < 0) {
      throw new IllegalArgumentException("repair speed must be >= 0 (0 = no cap), got " + maxRepairBytesPerSecond);
    }
  }


  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
