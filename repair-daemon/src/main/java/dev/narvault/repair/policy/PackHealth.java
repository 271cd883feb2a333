package dev.narvault.repair.policy;

import dev.narvault.core.catalog.FragmentPlacement;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

/**
 * How healthy one pack is: which fragment indexes have a stored copy on a healthy holder, which
 * have none (missing: to rebuild), and which can still be read (healthy, or on a holder that is
 * live but leaving or suspect — worth reading, verified, but not worth counting).
 *
 * @param healthy indexes with a stored copy on a healthy holder
 * @param readable indexes with a stored copy on a live holder (healthy ones included)
 */
public record PackHealth(String packId, int dataFragmentCount, int parityFragmentCount, BitSet healthy,
    BitSet readable) {

  public PackHealth {
    healthy = (BitSet) healthy.clone();
    readable = (BitSet) readable.clone();
  }

  /**
   * @param healthyHolder whether a holder counts (live, not suspect, not leaving)
   * @param liveHolder whether a holder can be read from at all
   */
  public static PackHealth of(String packId, int dataFragmentCount, int parityFragmentCount,
      List<FragmentPlacement> placements, Predicate<String> healthyHolder, Predicate<String> liveHolder) {
    BitSet healthy = new BitSet();
    BitSet readable = new BitSet();
    for (FragmentPlacement p : placements) {
      if (!p.stored()) {
        continue;
      }
      if (healthyHolder.test(p.holderId())) {
        healthy.set(p.fragmentIndex());
      }
      if (liveHolder.test(p.holderId())) {
        readable.set(p.fragmentIndex());
      }
    }
    return new PackHealth(packId, dataFragmentCount, parityFragmentCount, healthy, readable);
  }

  public int totalFragmentCount() {
    return dataFragmentCount + parityFragmentCount;
  }

  public int healthyCount() {
    return healthy.cardinality();
  }

  /** Fewer than k + m healthy fragments. */
  public boolean degraded() {
    return healthyCount() < totalFragmentCount();
  }

  /** Below the repair threshold: fewer than {@code k + r} healthy fragments. */
  public boolean needsRepair(int threshold) {
    return healthyCount() < dataFragmentCount + threshold;
  }

  /**
   * Some fragment counts as missing yet is still readable: its only copies are on live holders
   * that are leaving or suspect. Such a fragment is moved whatever the threshold, since copying
   * it now is cheap and it may not be readable later.
   */
  public boolean movable() {
    BitSet onlyOnUncounted = (BitSet) readable.clone();
    onlyOnUncounted.andNot(healthy);
    return !onlyOnUncounted.isEmpty();
  }

  /** At least k fragments can be read: the pack can be rebuilt (and served) now. */
  public boolean recoverable() {
    return readable.cardinality() >= dataFragmentCount;
  }

  /** Indexes with no healthy copy, in order: what repair rebuilds. */
  public List<Integer> missing() {
    List<Integer> list = new ArrayList<>();
    for (int i = 0; i < totalFragmentCount(); i++) {
      if (!healthy.get(i)) {
        list.add(i);
      }
    }
    return list;
  }

  /** The default repair threshold for a code: r = ⌈m / 2⌉. */
  public static int defaultThreshold(int parityFragmentCount) {
    return (parityFragmentCount + 1) / 2;
  }

  /**
   * The repair queue: packs below their threshold ({@code threshold} r, or the default
   * ⌈m/2⌉ when negative) or with a {@link #movable} fragment, the fewest healthy fragments above
   * k first (closest to loss), then by id.
   */
  public static List<PackHealth> queue(List<PackHealth> packs, int threshold) {
    return packs.stream()
        .filter(p -> p.movable()
            || p.needsRepair(threshold >= 0 ? threshold : defaultThreshold(p.parityFragmentCount())))
        .sorted(Comparator.comparingInt((PackHealth p) -> p.healthyCount() - p.dataFragmentCount())
            .thenComparing(PackHealth::packId))
        .toList();
  }
}
