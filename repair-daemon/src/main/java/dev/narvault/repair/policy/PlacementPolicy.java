package dev.narvault.repair.policy;

import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.core.holder.HolderId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Where new fragments of a pack go. Never two fragments of one pack on one holder, and never more
 * than the {@link DomainLimits} allow in one network, one wider network or one operator, counting
 * the fragments the pack already has; unvetted holders together get at most their share of a
 * pack. Among the holders that remain, pick at random weighted by proven capacity times audit
 * score, so fuller, newer and less reliable holders get less, and no holder is a predictable target.
 */
public final class PlacementPolicy {
  /**
   * A holder that could take a fragment.
   *
   * @param freeBytes what the holder says it has free (a fragment larger than this is not sent)
   * @param provenBytes what placement weighs it by: free space, capped by what its audits proved
   * @param vetted whether it has finished vetting
   */
  public record Candidate(FailureDomain domain, long freeBytes, long provenBytes, double score, boolean vetted) {
    public Candidate {
      if (freeBytes < 0 || provenBytes < 0 || !(score >= 0 && score <= 1)) {
        throw new IllegalArgumentException("bad candidate " + domain.holderId() + ": free " + freeBytes + ", proven "
            + provenBytes + ", score " + score);
      }
    }

    public HolderId holderId() {
      return domain.holderId();
    }
  }

  /**
   * What one placement must respect.
   *
   * @param limits concrete limits for the pack's code ({@link DomainLimits#forCode})
   * @param maxUnvetted fragments of the pack unvetted holders may hold together
   * @param unvettedAlready fragments of the pack unvetted holders hold now
   */
  public record Constraints(DomainLimits limits, int maxUnvetted, int unvettedAlready) {}

  private PlacementPolicy() {}

  /**
   * Chooses up to {@code count} holders from {@code eligible}, each with at least {@code bytesEach}
   * free, within the constraints, given the domains of the pack's existing fragments
   * ({@code existing}). Returns fewer when the rules leave fewer; the caller decides whether that
   * is an error.
   */
  public static List<Candidate> choose(Collection<Candidate> eligible, Collection<FailureDomain> existing, int count,
      long bytesEach, Constraints constraints, RandomGenerator random) {
    if (count < 0 || bytesEach < 0) {
      throw new IllegalArgumentException("count and size must be >= 0, got " + count + ", " + bytesEach);
    }
    DomainLimits.Tally tally = constraints.limits().tally(existing);
    int unvetted = constraints.unvettedAlready();
    List<Candidate> pool = new ArrayList<>();
    for (Candidate c : eligible) {
      if (c.freeBytes() >= bytesEach && c.score() > 0) {
        pool.add(c);
      }
    }
    List<Candidate> chosen = new ArrayList<>();
    while (chosen.size() < count) {
      boolean unvettedFull = unvetted >= constraints.maxUnvetted();
      pool.removeIf(c -> !tally.admits(c.domain()) || (!c.vetted() && unvettedFull));
      if (pool.isEmpty()) {
        break;
      }
      Candidate pick = weightedPick(pool, random);
      chosen.add(pick);
      tally.add(pick.domain());
      if (!pick.vetted()) {
        unvetted++;
      }
    }
    return chosen;
  }

  /** One candidate with probability proportional to proven bytes × score. */
  private static Candidate weightedPick(List<Candidate> pool, RandomGenerator random) {
    double total = 0;
    for (Candidate c : pool) {
      total += weight(c);
    }
    double at = random.nextDouble() * total;
    for (Candidate c : pool) {
      at -= weight(c);
      if (at < 0) {
        return c;
      }
    }
    return pool.getLast();
  }

  private static double weight(Candidate c) {
    // At least 1 so that a holder with a sliver of proven space can still be picked when it must.
    return Math.max(1.0, (double) c.provenBytes()) * c.score();
  }

  /** Proven capacity starts here ... */
  public static final long PROVEN_START_BYTES = 1L << 30;
  /** ... and doubles every this many passed audits, never above what the holder says is free. */
  public static final int PROVEN_DOUBLING_AUDITS = 10;

  /**
   * What placement weighs a holder by: its free space as it reports it, but at most what its
   * audits have earned — {@value #PROVEN_START_BYTES} bytes at first, doubling every
   * {@value #PROVEN_DOUBLING_AUDITS} passed audits. A stranger claiming 1000 TiB weighs no more
   * than an honest newcomer until audits prove it keeps what it is given.
   */
  public static long provenBytes(long freeBytes, long auditsPassed) {
    long doublings = Math.min(40, auditsPassed / PROVEN_DOUBLING_AUDITS);
    long earned = doublings >= 33 ? Long.MAX_VALUE : PROVEN_START_BYTES << doublings;
    return Math.min(freeBytes, earned);
  }
}
