package dev.narvault.repair.policy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Where new fragments of a pack go. Never two fragments of one pack on one holder, one declared
 * operator, or one network ({@link Networks}: IPv4 /24, IPv6 /48); among the holders that remain,
 * pick at random weighted by free capacity times audit score, so fuller and less reliable holders
 * get less, and no holder is a predictable target.
 */
public final class PlacementPolicy {
  /** A holder that could take a fragment. */
  public record Candidate(String holderId, String operator, String network, long freeBytes, double score) {
    public Candidate {
      if (freeBytes < 0 || !(score >= 0 && score <= 1)) {
        throw new IllegalArgumentException("bad candidate " + holderId + ": free " + freeBytes + ", score " + score);
      }
    }
  }

  private PlacementPolicy() {}

  /**
   * Chooses up to {@code count} holders from {@code eligible}, each with at least {@code bytesEach}
   * free, none sharing a holder, operator or network with each other or with {@code keepApartFrom}
   * (the holders that already hold fragments of this pack). Returns fewer when the rules leave
   * fewer; the caller decides whether that is an error.
   */
  public static List<Candidate> choose(Collection<Candidate> eligible, Collection<Candidate> keepApartFrom,
      int count, long bytesEach, RandomGenerator random) {
    if (count < 0 || bytesEach < 0) {
      throw new IllegalArgumentException("count and size must be >= 0, got " + count + ", " + bytesEach);
    }
    Set<String> holders = new HashSet<>();
    Set<String> operators = new HashSet<>();
    Set<String> networks = new HashSet<>();
    for (Candidate c : keepApartFrom) {
      take(c, holders, operators, networks);
    }
    List<Candidate> pool = new ArrayList<>();
    for (Candidate c : eligible) {
      if (c.freeBytes() >= bytesEach && c.score() > 0) {
        pool.add(c);
      }
    }
    List<Candidate> chosen = new ArrayList<>();
    while (chosen.size() < count) {
      pool.removeIf(c -> conflicts(c, holders, operators, networks));
      if (pool.isEmpty()) {
        break;
      }
      Candidate pick = weightedPick(pool, random);
      chosen.add(pick);
      take(pick, holders, operators, networks);
    }
    return chosen;
  }

  private static boolean conflicts(Candidate c, Set<String> holders, Set<String> operators, Set<String> networks) {
    return holders.contains(c.holderId()) || (!c.operator().isEmpty() && operators.contains(c.operator()))
        || (!c.network().isEmpty() && networks.contains(c.network()));
  }

  private static void take(Candidate c, Set<String> holders, Set<String> operators, Set<String> networks) {
    holders.add(c.holderId());
    if (!c.operator().isEmpty()) {
      operators.add(c.operator());
    }
    if (!c.network().isEmpty()) {
      networks.add(c.network());
    }
  }

  /** One candidate with probability proportional to free bytes × score. */
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
    // At least 1 so that a holder with a sliver of free space can still be picked when it must.
    return Math.max(1.0, (double) c.freeBytes()) * c.score();
  }
}
