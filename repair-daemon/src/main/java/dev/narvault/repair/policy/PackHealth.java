package dev.narvault.repair.policy;

import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;

/**
 * How healthy one pack is: which fragment indexes have a stored copy on a healthy holder within
 * the pack's failure-domain limits (healthy: they count), which have none (missing: to rebuild or
 * copy), and which can still be read (a stored, superseded or unverified copy on a live holder —
 * worth reading, every block verified, but not all worth counting).
 *
 * <p>Copies are counted in index order, one per index, each only if the {@link DomainLimits}
 * admit its holder's {@link FailureDomain} beside those counted before: fragments that came to
 * share a domain (an address changed, an operator declared itself) stop counting beyond the limit
 * and are moved, so a pack's health is what survives the loss of any one domain.
 *
 * <p>A copy on an <em>excused</em> holder (away by its own word, {@link HolderRules#excused}) is
 * counted after every copy on a live one, at most {@link #excuseCap} of them, and only while the
 * pack keeps at least {@link #excuseMargin} counted fragments above k on live holders: a weekend
 * away does not set off repair, but no number of absences lets a pack drift towards k unnoticed.
 * Beyond the cap, or below that margin, excused copies count as missing and are rebuilt like any
 * other.
 *
 * @param healthy indexes with a counted copy (excused ones included)
 * @param readable indexes with any readable copy on a live holder (healthy ones included, excused ones not)
 * @param excused indexes counted only by a copy on an excused holder (a subset of healthy)
 */
public record PackHealth(PackId packId, int dataFragmentCount, int parityFragmentCount, BitSet healthy,
    BitSet readable, BitSet excused) {

  public PackHealth {
    healthy = (BitSet) healthy.clone();
    readable = (BitSet) readable.clone();
    excused = (BitSet) excused.clone();
  }

  /** What the health of a pack needs to know about its holders. */
  public interface Holders {
    /** Live, not disqualified, not leaving: its copies may count. */
    boolean healthy(HolderId holderId);

    /** Reachable now: its copies can be read. */
    boolean live(HolderId holderId);

    FailureDomain domain(HolderId holderId);

    /** Not live, but away by its own word ({@link HolderRules#excused}); none by default. */
    default boolean excused(HolderId holderId) {
      return false;
    }
  }

  /**
   * @param limits the domain limits, defaults for this code filled in by {@link DomainLimits#forCode}
   */
  public static PackHealth of(PackId packId, int dataFragmentCount, int parityFragmentCount,
      List<FragmentPlacement> placements, Holders holders, DomainLimits limits) {
    BitSet healthy = new BitSet();
    BitSet readable = new BitSet();
    BitSet excused = new BitSet();
    DomainLimits.Tally tally = limits.forCode(parityFragmentCount).tally();
    List<FragmentPlacement> ordered = new ArrayList<>(placements);
    ordered.sort(Comparator.comparingInt(FragmentPlacement::fragmentIndex).thenComparing(FragmentPlacement::holderId));
    for (FragmentPlacement p : ordered) {
      if (readableState(p) && holders.live(p.holderId())) {
        readable.set(p.fragmentIndex());
      }
      if (p.stored() && !healthy.get(p.fragmentIndex()) && holders.healthy(p.holderId())
          && tally.addIfAdmitted(holders.domain(p.holderId()))) {
        healthy.set(p.fragmentIndex());
      }
    }
    // Live copies first, so that an excused copy never displaces one that can be read.
    int live = healthy.cardinality();
    if (live >= dataFragmentCount + excuseMargin(parityFragmentCount)) {
      int cap = excuseCap(parityFragmentCount);
      for (FragmentPlacement p : ordered) {
        if (excused.cardinality() < cap && p.stored() && !healthy.get(p.fragmentIndex())
            && holders.excused(p.holderId()) && tally.addIfAdmitted(holders.domain(p.holderId()))) {
          healthy.set(p.fragmentIndex());
          excused.set(p.fragmentIndex());
        }
      }
    }
    return new PackHealth(packId, dataFragmentCount, parityFragmentCount, healthy, readable, excused);
  }

  /**
   * Fragments above k a pack must keep on live holders for copies on excused (away) holders to
   * count: ⌈r/2⌉ of the default threshold r = ⌈m/2⌉, and at least 2 (10 for RS(40,40), 3 for
   * RS(20,10)). Where it reaches r (m ≤ 4: RS(10,4) has r = 2) an absence is never excused in
   * effect: a code with two spare fragments cannot lend one to a holiday, as
   * {@code narvault simulate --away} showed (a margin of 1 cost RS(10,4) three points of
   * availability and more losses).
   */
  public static int excuseMargin(int parityFragmentCount) {
    return Math.max(2, (defaultThreshold(parityFragmentCount) + 1) / 2);
  }

  /**
   * The most absent copies one pack excuses at once: ⌊m/8⌋ (5 for RS(40,40), 1 for RS(20,10),
   * none below m = 8). Each absent copy is one fragment fewer to read: a pack with many absent
   * holders at once is repaired for them, so that reads keep their margin too.
   */
  public static int excuseCap(int parityFragmentCount) {
    return parityFragmentCount / 8;
  }

  /**
   * As above for holders that are each a domain of their own (the simulator), judged by two
   * predicates.
   */
  public static PackHealth of(PackId packId, int dataFragmentCount, int parityFragmentCount,
      List<FragmentPlacement> placements, Predicate<HolderId> healthyHolder, Predicate<HolderId> liveHolder) {
    return of(packId, dataFragmentCount, parityFragmentCount, placements, new Holders() {
      @Override
      public boolean healthy(HolderId holderId) {
        return healthyHolder.test(holderId);
      }

      @Override
      public boolean live(HolderId holderId) {
        return liveHolder.test(holderId);
      }

      @Override
      public FailureDomain domain(HolderId holderId) {
        return FailureDomain.of(holderId, "", "");
      }
    }, DomainLimits.DEFAULT);
  }

  /** Copies whose bytes may be read for repair or serving: all but those found corrupt. */
  public static boolean readableState(FragmentPlacement p) {
    return p.stored() || p.state() == FragmentState.SUPERSEDED || p.state() == FragmentState.UNVERIFIED;
  }

  /** Whole: every index counted. */
  public boolean whole() {
    return healthyCount() >= totalFragmentCount();
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
   * Some fragment counts as missing yet is still readable: its copies are on live holders that
   * are leaving or disqualified, or beyond a domain's limit, or superseded or unverified. Such a
   * fragment is copied (one read, not k) or revived whatever the threshold, since that is cheap
   * and it may not be readable later.
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
   * k on live holders first (closest to loss: excused copies are not read), then by id.
   */
  public static List<PackHealth> queue(List<PackHealth> packs, int threshold) {
    return packs.stream()
        .filter(p -> p.movable()
            || p.needsRepair(threshold >= 0 ? threshold : defaultThreshold(p.parityFragmentCount())))
        .sorted(Comparator.comparingInt((PackHealth p) -> p.healthyCount() - p.excused().cardinality()
                - p.dataFragmentCount())
            .thenComparing(PackHealth::packId))
        .toList();
  }
}
