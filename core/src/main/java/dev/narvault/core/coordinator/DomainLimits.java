package dev.narvault.core.coordinator;

import dev.narvault.core.holder.HolderId;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * How many fragments of one pack each failure domain may hold ({@link FailureDomain}): at most
 * {@code perNetwork} in one /24 (or /48), {@code perWiderNetwork} in one /16 (or /32),
 * {@code perOperator} for one declared operator, and always at most one per holder.
 *
 * <p>The defaults ({@link #defaults}) guarantee that losing any one wider network, or any one
 * operator, costs a pack at most ⌊m/2⌋ fragments (at least 1): a pack survives the loss of any two
 * such domains at once, with repair's threshold left to spare.
 *
 * <p>A negative limit means "the default for the code": the same configuration serves packs of
 * every code.
 */
public record DomainLimits(int perNetwork, int perWiderNetwork, int perOperator) {
  public DomainLimits {
    if (perNetwork == 0 || perWiderNetwork == 0 || perOperator == 0) {
      throw new IllegalArgumentException("a domain limit must be >= 1, or negative for the default, got "
          + perNetwork + "/" + perWiderNetwork + "/" + perOperator);
    }
  }

  /** Every limit at its default for the code. */
  public static final DomainLimits DEFAULT = new DomainLimits(-1, -1, -1);

  /** The limits for a pack with {@code parityFragmentCount} parity fragments, defaults filled in. */
  public DomainLimits forCode(int parityFragmentCount) {
    int half = Math.max(1, parityFragmentCount / 2);
    return new DomainLimits(perNetwork > 0 ? perNetwork : 1, perWiderNetwork > 0 ? perWiderNetwork : half,
        perOperator > 0 ? perOperator : half);
  }

  /** Defaults for a code: one per network, ⌊m/2⌋ per wider network and per operator. */
  public static DomainLimits defaults(int parityFragmentCount) {
    return DEFAULT.forCode(parityFragmentCount);
  }

  /**
   * Counts fragments of one pack per domain, to ask whether one more may go somewhere. Use with
   * limits from {@link #forCode}.
   */
  public final class Tally {
    private final Map<HolderId, Integer> holders = new HashMap<>();
    private final Map<String, Integer> networks = new HashMap<>();
    private final Map<String, Integer> wider = new HashMap<>();
    private final Map<String, Integer> operators = new HashMap<>();

    /** Whether one more fragment fits in {@code d} without passing any limit. */
    public boolean admits(FailureDomain d) {
      return holders.getOrDefault(d.holderId(), 0) < 1 && networks.getOrDefault(d.network(), 0) < perNetwork
          && wider.getOrDefault(d.widerNetwork(), 0) < perWiderNetwork
          && operators.getOrDefault(d.operator(), 0) < perOperator;
    }

    /** Counts a fragment in {@code d} (whether or not it was admitted). */
    public void add(FailureDomain d) {
      holders.merge(d.holderId(), 1, Integer::sum);
      networks.merge(d.network(), 1, Integer::sum);
      wider.merge(d.widerNetwork(), 1, Integer::sum);
      operators.merge(d.operator(), 1, Integer::sum);
    }

    /** Counts {@code d} only if it is admitted; true when it was. */
    public boolean addIfAdmitted(FailureDomain d) {
      if (!admits(d)) {
        return false;
      }
      add(d);
      return true;
    }
  }

  /** A tally for these limits, which must be concrete ({@link #forCode}). */
  public Tally tally() {
    if (perNetwork < 0 || perWiderNetwork < 0 || perOperator < 0) {
      throw new IllegalStateException("resolve the defaults with forCode(m) before counting: " + this);
    }
    return new Tally();
  }

  /** A tally that already counts {@code existing}. */
  public Tally tally(Collection<FailureDomain> existing) {
    Tally t = tally();
    existing.forEach(t::add);
    return t;
  }
}
