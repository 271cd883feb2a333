package dev.narvault.repair.policy;

import dev.narvault.core.holder.HolderId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementPolicyTest {
  private static final long GIB = 1L << 30;

  private static PlacementPolicy.Candidate holder(String id, String operator, String address, long free, double score) {
    return new PlacementPolicy.Candidate(FailureDomain.of(new HolderId(id), address, operator), free, free, score, true);
  }

  private static PlacementPolicy.Constraints limits(int m) {
    return new PlacementPolicy.Constraints(DomainLimits.defaults(m), 1, 0);
  }

  @Test
  void choose_neverTwoOnOneHolderOrNetwork_andAtMostHalfTheParityPerOperator() {
    List<PlacementPolicy.Candidate> all = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      // 10 operators, 20 networks (each its own /16), 40 holders.
      all.add(holder("h" + i, "op" + (i % 10), "10." + (i % 20) + ".0." + (i + 1), GIB, 1.0));
    }
    for (long seed = 0; seed < 200; seed++) {
      List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(all, List.of(), 14, 1 << 20, limits(4),
          new Random(seed));
      assertEquals(14, chosen.size(), "10 operators × 2 each and 20 networks are room enough for 14");
      Map<String, Integer> perOperator = new HashMap<>();
      chosen.forEach(c -> perOperator.merge(c.domain().operator(), 1, Integer::sum));
      assertTrue(perOperator.values().stream().allMatch(n -> n <= 2), perOperator.toString());
      assertEquals(14, chosen.stream().map(c -> c.domain().network()).distinct().count());
      assertEquals(14, chosen.stream().map(PlacementPolicy.Candidate::holderId).distinct().count());
    }
  }

  /**
   * The attack the custody issue measured: one stranger registers 14 holders, each in its own /24
   * of one /16, each claiming 1000 TiB, beside 10 honest holders in /16s of their own. RS(4,4).
   */
  @Test
  void choose_aSybilInOneWiderNetworkGetsAtMostHalfTheParity_whateverItClaims() {
    List<PlacementPolicy.Candidate> all = new ArrayList<>();
    for (int i = 0; i < 14; i++) {
      long claimed = 1000L << 40;
      // Proven capacity: a newcomer's, however much it claims.
      all.add(new PlacementPolicy.Candidate(FailureDomain.of(new HolderId("sybil" + i), "127.0." + (i + 1) + ".1", ""), claimed,
          PlacementPolicy.provenBytes(claimed, 0), 1.0, true));
    }
    for (int i = 0; i < 10; i++) {
      all.add(holder("honest" + i, "", "127." + (i + 1) + ".0.1", 100 * GIB, 1.0));
    }
    for (long seed = 0; seed < 500; seed++) {
      List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(all, List.of(), 8, 1 << 20, limits(4),
          new Random(seed));
      assertEquals(8, chosen.size());
      long sybil = chosen.stream().filter(c -> c.holderId().value().startsWith("sybil")).count();
      assertTrue(sybil <= 2, "seed " + seed + ": the stranger took " + sybil + " of 8");
    }
  }

  @Test
  void choose_countsThePacksExistingFragmentsTowardsEachDomain() {
    List<PlacementPolicy.Candidate> all = List.of(
        holder("a", "alice", "192.0.2.1", GIB, 1),
        holder("b", "", "192.0.2.77", GIB, 1), // same /24 as a
        holder("c", "alice", "198.51.100.1", GIB, 1), // same operator as a
        holder("d", "", "2001:db8:1:5::1", GIB, 1),
        holder("e", "", "2001:db8:1:9::1", GIB, 1), // same /48 as d
        holder("f", "", "2001:db8:2::1", GIB, 1), // same /32 as d
        holder("g", "bob", "203.0.113.5", GIB, 1),
        holder("h", "", "192.0.9.1", GIB, 1)); // same /16 as a
    List<FailureDomain> placed = List.of(all.get(0).domain(), all.get(3).domain());
    // m = 2: one per wider network and per operator.
    for (long seed = 0; seed < 50; seed++) {
      Set<String> ids = new HashSet<>();
      PlacementPolicy.choose(all, placed, 5, 1, limits(2), new Random(seed)).forEach(c -> ids.add(c.holderId().value()));
      assertEquals(Set.of("g"), ids);
    }
    // m = 4: two per wider network and per operator; still one per /24 and /48.
    for (long seed = 0; seed < 50; seed++) {
      Set<String> ids = new HashSet<>();
      PlacementPolicy.choose(all, placed, 5, 1, limits(4), new Random(seed)).forEach(c -> ids.add(c.holderId().value()));
      assertTrue(ids.contains("g") && ids.contains("f") && !ids.contains("b") && !ids.contains("e"), ids.toString());
      assertTrue(ids.contains("c") != ids.contains("h") || ids.containsAll(Set.of("c", "h")), ids.toString());
    }
  }

  @Test
  void choose_unvettedHoldersTogetherGetAtMostTheirShare() {
    List<PlacementPolicy.Candidate> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(new PlacementPolicy.Candidate(FailureDomain.of(new HolderId("new" + i), "10." + i + ".0.1", ""), GIB, GIB, 1, false));
    }
    for (int i = 0; i < 6; i++) {
      all.add(holder("old" + i, "", "10." + (100 + i) + ".0.1", GIB, 1));
    }
    for (long seed = 0; seed < 100; seed++) {
      List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(all, List.of(), 8, 1, limits(4),
          new Random(seed));
      assertEquals(7, chosen.size(), "6 vetted holders and one unvetted");
      assertEquals(1, chosen.stream().filter(c -> !c.vetted()).count());
    }
    var already = new PlacementPolicy.Constraints(DomainLimits.defaults(4), 1, 1);
    assertTrue(PlacementPolicy.choose(all, List.of(), 8, 1, already, new Random(1)).stream().allMatch(
        PlacementPolicy.Candidate::vetted), "a pack that has its unvetted fragment gets no more");
  }

  @Test
  void choose_skipsHoldersWithoutRoom_andFavoursProvenSpaceAndGoodScores() {
    List<PlacementPolicy.Candidate> all = List.of(
        holder("full", "", "192.0.2.1", 1000, 1),
        holder("big", "", "198.51.100.1", 900L << 20, 1),
        holder("small", "", "203.0.113.1", 100L << 20, 1),
        holder("shaky", "", "192.1.3.1", 900L << 20, 0.1));
    Map<String, Integer> first = new HashMap<>();
    Random random = new Random(7);
    for (int i = 0; i < 4000; i++) {
      List<PlacementPolicy.Candidate> c = PlacementPolicy.choose(all, List.of(), 1, 1 << 20, limits(4), random);
      first.merge(c.getFirst().holderId().value(), 1, Integer::sum);
    }
    assertEquals(null, first.get("full"), "a holder without room for the fragment is never chosen");
    // Weights 900 : 100 : 90 (proven MiB × score).
    double big = first.get("big") / 4000.0;
    assertTrue(big > 0.78 && big < 0.87, "big chosen " + big);
    assertTrue(first.get("small") > first.get("shaky") * 0.8, first.toString());
  }

  @Test
  void provenBytes_startSmallAndDoubleAsAuditsPass_neverAboveTheClaim() {
    assertEquals(PlacementPolicy.PROVEN_START_BYTES, PlacementPolicy.provenBytes(1L << 50, 0));
    assertEquals(PlacementPolicy.PROVEN_START_BYTES, PlacementPolicy.provenBytes(1L << 50, 9));
    assertEquals(2 * PlacementPolicy.PROVEN_START_BYTES, PlacementPolicy.provenBytes(1L << 50, 10));
    assertEquals(1L << 50, PlacementPolicy.provenBytes(1L << 50, 1000));
    assertEquals(5, PlacementPolicy.provenBytes(5, 1000));
    assertEquals(1L << 62, PlacementPolicy.provenBytes(1L << 62, Long.MAX_VALUE), "no overflow");
  }

  @Test
  void choose_returnsFewerWhenTheRulesLeaveFewer_andRejectsNonsense() {
    List<PlacementPolicy.Candidate> all = List.of(holder("a", "", "192.0.2.1", 1 << 20, 1),
        holder("b", "", "192.0.2.2", 1 << 20, 1));
    assertEquals(1, PlacementPolicy.choose(all, List.of(), 2, 1, limits(4), new Random(1)).size());
    assertThrows(IllegalArgumentException.class,
        () -> PlacementPolicy.choose(all, List.of(), -1, 1, limits(4), new Random(1)));
    assertThrows(IllegalArgumentException.class, () -> holder("x", "", "", 1, 1.5));
  }

  @Test
  void failureDomains_areNestedAndAnUnprovenHolderSharesWithNobody() {
    FailureDomain a = FailureDomain.of(new HolderId("a"), "192.0.2.200", "");
    assertEquals("192.0.2.0/24", a.network());
    assertEquals("192.0.0.0/16", a.widerNetwork());
    assertEquals("holder:a", a.operator(), "no operator declared: an operator of its own");
    assertEquals(FailureDomain.of(new HolderId("x"), "127.0.3.1", "").network(), FailureDomain.of(new HolderId("y"), "127.0.3.254", "").network());
    assertEquals(FailureDomain.of(new HolderId("x"), "127.0.3.1", "").widerNetwork(),
        FailureDomain.of(new HolderId("y"), "127.0.4.1", "").widerNetwork(), "127.0.n.1 share a /16");
    assertTrue(!FailureDomain.of(new HolderId("x"), "127.3.0.1", "").widerNetwork()
        .equals(FailureDomain.of(new HolderId("y"), "127.4.0.1", "").widerNetwork()), "127.n.0.1 do not");
    FailureDomain v6 = FailureDomain.of(new HolderId("d"), "2001:db8:1:ffff::1", "op");
    assertEquals("2001:0db8:0001::/48", v6.network());
    assertEquals("2001:0db8::/32", v6.widerNetwork());
    assertEquals("operator:op", v6.operator());
    assertEquals(FailureDomain.of(new HolderId("d"), "[2001:db8:1::1]", "").network(), v6.network());
    assertTrue(!FailureDomain.of(new HolderId("u"), "", "").network().equals(FailureDomain.of(new HolderId("w"), "", "").network()));
  }

  @Test
  void domainLimits_defaultToHalfTheParity_andLosingOneDomainNeverCostsMore() {
    assertEquals(new DomainLimits(1, 2, 2), DomainLimits.defaults(4));
    assertEquals(new DomainLimits(1, 20, 20), DomainLimits.defaults(40));
    assertEquals(new DomainLimits(1, 1, 1), DomainLimits.defaults(1));
    assertEquals(new DomainLimits(3, 5, 2), new DomainLimits(3, 5, 2).forCode(40));
    assertThrows(IllegalArgumentException.class, () -> new DomainLimits(0, 1, 1));
    assertThrows(IllegalStateException.class, () -> DomainLimits.DEFAULT.tally());
  }
}
