package dev.narvault.repair.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlacementPolicyTest {
  private static PlacementPolicy.Candidate holder(String id, String operator, String address, long free, double score) {
    return new PlacementPolicy.Candidate(id, operator, Networks.of(address), free, score);
  }

  @Test
  void choose_neverTwoOnOneHolderOperatorOrNetwork() {
    List<PlacementPolicy.Candidate> all = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      // 10 operators, 20 networks, 40 holders: at most 10 may be chosen together.
      all.add(holder("h" + i, "op" + (i % 10), "10.0." + (i % 20) + "." + (i + 1), 1L << 30, 1.0));
    }
    for (long seed = 0; seed < 200; seed++) {
      List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(all, List.of(), 14, 1 << 20, new Random(seed));
      assertEquals(10, chosen.size(), "only 10 operators exist");
      assertEquals(10, chosen.stream().map(PlacementPolicy.Candidate::operator).distinct().count());
      assertEquals(10, chosen.stream().map(PlacementPolicy.Candidate::network).distinct().count());
      assertEquals(10, chosen.stream().map(PlacementPolicy.Candidate::holderId).distinct().count());
    }
  }

  @Test
  void choose_keepsApartFromHoldersThatAlreadyHoldThePack() {
    List<PlacementPolicy.Candidate> all = List.of(
        holder("a", "alice", "192.0.2.1", 1L << 30, 1),
        holder("b", "", "192.0.2.77", 1L << 30, 1), // same /24 as a
        holder("c", "alice", "198.51.100.1", 1L << 30, 1), // same operator as a
        holder("d", "", "2001:db8:1:5::1", 1L << 30, 1),
        holder("e", "", "2001:db8:1:9::1", 1L << 30, 1), // same /48 as d
        holder("f", "", "2001:db8:2::1", 1L << 30, 1),
        holder("g", "bob", "203.0.113.5", 1L << 30, 1));
    List<PlacementPolicy.Candidate> placed = List.of(all.get(0), all.get(3));
    for (long seed = 0; seed < 50; seed++) {
      Set<String> ids = new HashSet<>();
      PlacementPolicy.choose(all, placed, 5, 1, new Random(seed)).forEach(c -> ids.add(c.holderId()));
      assertEquals(Set.of("f", "g"), ids);
    }
  }

  @Test
  void choose_skipsHoldersWithoutRoom_andFavoursFreeSpaceAndGoodScores() {
    List<PlacementPolicy.Candidate> all = List.of(
        holder("full", "", "192.0.2.1", 1000, 1),
        holder("big", "", "198.51.100.1", 900L << 20, 1),
        holder("small", "", "203.0.113.1", 100L << 20, 1),
        holder("shaky", "", "192.0.3.1", 900L << 20, 0.1));
    Map<String, Integer> first = new HashMap<>();
    Random random = new Random(7);
    for (int i = 0; i < 4000; i++) {
      List<PlacementPolicy.Candidate> c = PlacementPolicy.choose(all, List.of(), 1, 1 << 20, random);
      first.merge(c.getFirst().holderId(), 1, Integer::sum);
    }
    assertEquals(null, first.get("full"), "a holder without room for the fragment is never chosen");
    // Weights 900 : 100 : 90 (free MiB × score).
    double big = first.get("big") / 4000.0;
    assertTrue(big > 0.78 && big < 0.87, "big chosen " + big);
    assertTrue(first.get("small") > first.get("shaky") * 0.8, first.toString());
  }

  @Test
  void choose_returnsFewerWhenTheRulesLeaveFewer_andRejectsNonsense() {
    List<PlacementPolicy.Candidate> all = List.of(holder("a", "", "192.0.2.1", 1 << 20, 1),
        holder("b", "", "192.0.2.2", 1 << 20, 1));
    assertEquals(1, PlacementPolicy.choose(all, List.of(), 2, 1, new Random(1)).size());
    assertThrows(IllegalArgumentException.class, () -> PlacementPolicy.choose(all, List.of(), -1, 1, new Random(1)));
    assertThrows(IllegalArgumentException.class, () -> holder("x", "", "", 1, 1.5));
  }

  @Test
  void networks_areIpv4Slash24AndIpv6Slash48() {
    assertEquals("192.0.2.0/24", Networks.of("192.0.2.200"));
    assertEquals(Networks.of("127.0.3.1"), Networks.of("127.0.3.254"));
    assertTrue(!Networks.of("127.0.3.1").equals(Networks.of("127.0.4.1")));
    assertEquals("2001:0db8:0001::/48", Networks.of("2001:db8:1:ffff::1"));
    assertEquals(Networks.of("[2001:db8:1::1]"), Networks.of("2001:db8:1:2:3:4:5:6"));
    assertEquals("holder.example.org", Networks.of("holder.example.org"), "a name stands for itself, no lookup");
  }
}
