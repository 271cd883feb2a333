package dev.narvault.repair.simulation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulation against closed forms, at rates stressed enough to observe: what it measures must
 * agree with the binomial availability and the eager-repair Markov model where those hold.
 */
class SimulationTest {
  private static SimulationConfig world(int k, int m, int holders, int packs, double years, double uptime,
      double departures, Duration offlineAfter, Duration round, int perNetwork, double networkFailures, double sybil,
      int reads) {
    return new SimulationConfig(holders, packs, k, m, -1, years, uptime, 5, 1, departures, offlineAfter, Duration.ZERO,
        round, 0, 1 << 20, perNetwork, networkFailures, sybil, 0, reads, 42);
  }

  @Test
  void availability_matchesTheBinomial() {
    // Never repaired (offline-after far beyond the run): fragments sit on independent holders.
    SimulationResult r = new Simulation(world(4, 2, 60, 200, 1, 0.7, 0, Duration.ofDays(10_000), Duration.ofHours(1),
        1, 0, 0, 50)).run(x -> { });
    double expected = ClosedForms.availability(6, 4, 0.7);
    assertEquals(0.7443, expected, 1e-4);
    assertEquals(expected, r.availability(), 0.015, "simulated " + r.availability());
    assertEquals(0, r.fragmentsRebuilt());
  }

  @Test
  void lossRate_matchesTheEagerRepairMarkovModel() {
    // RS(2,1), holders always up but leaving at 0.5 % an hour; the coordinator notices after 5 h
    // and repairs at its next round (every 6 minutes): repair takes ≈ 5.05 h.
    double lossPerHour = 0.005;
    double departures = -Math.expm1(-lossPerHour * Simulation.HOURS_PER_YEAR / 12);
    SimulationResult r = new Simulation(world(2, 1, 60, 100, 1, 1, departures, Duration.ofHours(5),
        Duration.ofMinutes(6), 1, 0, 0, 0)).run(x -> { });
    double mttdl = ClosedForms.meanHoursToLoss(3, 2, 1, lossPerHour, 5.05);
    double expected = ClosedForms.lossesPerPackYear(mttdl);
    assertTrue(r.losses() > 300, r.losses() + " losses: too few to compare");
    assertEquals(expected, r.lossPerPackYear(), expected * 0.15, "simulated " + r.lossPerPackYear());
    assertTrue(r.lossLow() < expected && expected < r.lossHigh(), "the model's rate is inside the interval");
    assertEquals(lossPerHour * Simulation.HOURS_PER_YEAR, r.copyLossPerYear(), lossPerHour * Simulation.HOURS_PER_YEAR
        * 0.05, "copies are lost at the departure rate");
    assertEquals(5.05, r.meanRepairHours(), 0.2);
    assertEquals(5.05, r.modelRepairHours(), 0.2);
    assertEquals(expected, r.modelledLossPerPackYear(), expected * 0.1, "the model fed the measured rates");
  }

  @Test
  void wholeNetworksLeaving_loseNothing_becausePlacementKeepsThemApart_butASybilBlocDoes() {
    // A /24 of 4 holders leaves every 3 days; each takes at most one fragment of any pack, and
    // eager repair (threshold m) puts it back within 2 hours.
    SimulationConfig often = world(4, 2, 80, 300, 1, 1, 0, Duration.ofHours(1), Duration.ofHours(1), 4, 120, 0, 0);
    SimulationResult networks = new Simulation(new SimulationConfig(often.holders(), often.packs(), 4, 2, 2,
        often.years(), 1, 5, 1, 0, often.offlineAfter(), Duration.ZERO, often.checkInterval(), 0, 1 << 20, 4, 120, 0, 0,
        0, 42)).run(x -> { });
    assertEquals(0, networks.losses());
    assertTrue(networks.fragmentsRebuilt() > 1000, networks.fragmentsRebuilt() + " rebuilt");
    // 40 % of holders in one bloc, posing as strangers, leave together half-way through.
    SimulationResult sybil = new Simulation(world(4, 2, 80, 300, 1, 1, 0, Duration.ofHours(1),
        Duration.ofHours(1), 1, 0, 0.4, 0)).run(x -> { });
    assertTrue(sybil.losses() > 10, sybil.losses() + " packs lost to the bloc");
  }

  /** The coordinator's current rules (custody, proven-space weights, vetting, domain limits) or the old ones. */
  private static SimulationConfig rules(SimulationConfig w, boolean custody, List<SimulationConfig.HolderClass> people,
      int sybilWiderNetworks) {
    return new SimulationConfig(w.holders(), w.packs(), w.dataFragmentCount(), w.parityFragmentCount(), w.threshold(),
        w.years(), w.uptime(), w.meanOfflineHours(), w.weibullShape(), w.departuresPerMonth(), w.offlineAfter(),
        custody ? Duration.ofDays(3) : Duration.ZERO, w.checkInterval(), 0, w.fragmentBytes(), w.holdersPerNetwork(),
        w.networkFailuresPerYear(), w.sybilShare(), w.corruptionPerFragmentYear(), w.readsPerCheck(), w.seed(), people,
        Duration.ofMinutes(5), custody ? 100 : 0, custody ? 1 : Integer.MAX_VALUE, sybilWiderNetworks, custody);
  }

  @Test
  void aSybilInOneWiderNetwork_claimingHugeSpace_losesNothingUnderCustody_butPacksUnderTheOldRules() {
    // 40 % of the holders are one machine's identities, each in a /24 of its own but all in one
    // /16, each claiming 1000 TiB; they leave together half-way. RS(4,4): at most 2 per /16.
    SimulationConfig w = world(4, 4, 80, 300, 1, 1, 0, Duration.ofHours(1), Duration.ofHours(1), 1, 0, 0.4, 0);
    SimulationResult old = new Simulation(rules(w, false, List.of(), 1)).run(x -> { });
    SimulationResult custody = new Simulation(rules(w, true, List.of(), 1)).run(x -> { });
    assertTrue(old.losses() > 10, old.losses() + " packs lost to the bloc under the old rules");
    assertEquals(0, custody.losses(), "the bloc held at most m/2 fragments of any pack");
    // Hidden in wider networks of their own, the limit cannot see them: proven-space weights alone
    // keep the claimed 1000 TiB from drawing the fragments, so fewer packs are lost than before.
    SimulationResult hidden = new Simulation(rules(w, true, List.of(), 0)).run(x -> { });
    assertTrue(hidden.losses() < old.losses(), hidden.losses() + " lost hidden vs " + old.losses() + " old");
  }

  @Test
  void copiesOfReturningHolders_countAgain_andKeepPacksTheOldRuleLoses() {
    // Holders away for days at a time (mean 48 h off, 50 % up), counted offline after 2 h, so
    // repair rebuilds their fragments on others who go away in turn; 30 % a month leave for good.
    SimulationConfig w = new SimulationConfig(60, 200, 4, 2, 2, 1, 0.5, 48, 1, 0.3, Duration.ofHours(2),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 1, 0, 0, 0, 20, 11);
    SimulationResult old = new Simulation(rules(w, false, List.of(), 0)).run(x -> { });
    SimulationResult custody = new Simulation(rules(w, true, List.of(), 0)).run(x -> { });
    assertEquals(0, old.copiesRevived());
    assertTrue(custody.copiesRevived() > 100, custody.copiesRevived() + " revived");
    assertTrue(custody.copiesCollected() > 100, custody.copiesCollected() + " collected once whole");
    assertTrue(custody.availability() > old.availability() + 0.02, "kept copies count when revived");
    assertTrue(custody.repairsFromKeptCopies() > 100, custody.repairsFromKeptCopies() + " rebuilds read kept copies");
    assertEquals(0, old.repairsFromKeptCopies());
    assertTrue(old.losses() > 20, old.losses() + " lost under the old rules");
    assertTrue(custody.losses() * 2 < old.losses(), custody.losses() + " lost under custody vs " + old.losses());
  }

  @Test
  void aMixedPopulation_isDrawnByShare_eachHolderAtItsClassUptime() {
    // Never repaired. 30 % of holders at 0.98 and 70 % at 0.55 (0.679 on average), in a world whose
    // single uptime says 0.3: the classes, not that number, decide.
    List<SimulationConfig.HolderClass> people = SimulationConfig.HolderClass.parse("0.3@0.98, 0.7@0.55");
    SimulationConfig w = world(4, 2, 100, 300, 1, 0.3, 0, Duration.ofDays(10_000), Duration.ofHours(1), 1, 0, 0,
        50);
    SimulationResult r = new Simulation(rules(w, true, people, 0)).run(x -> { });
    // Fragments go only to holders online when they are placed: servers, online more, are drawn
    // more often (43 % of fragments, not 30 %), and a fragment is online with p = 0.736.
    double servers = 0.3 * 0.98 / (0.3 * 0.98 + 0.7 * 0.55);
    double p = servers * 0.98 + (1 - servers) * 0.55;
    assertEquals(ClosedForms.availability(6, 4, p), r.availability(), 0.02, "simulated " + r.availability());
    assertTrue(ClosedForms.availability(6, 4, p) - ClosedForms.availability(6, 4, 0.3) > 0.3, "not the world's 0.3");
    assertThrows(IllegalArgumentException.class, () -> rules(w, true,
        SimulationConfig.HolderClass.parse("0.3@0.98,0.6@0.55"), 0), "shares must sum to 1");
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.HolderClass.parse("0.3:0.98"));
    assertThrows(IllegalArgumentException.class, () -> SimulationConfig.HolderClass.parse("0.3@1.5,0.7@0.5"));
  }

  private static SimulationConfig withLiars(SimulationConfig w, SimulationConfig.Liars liars) {
    return new SimulationConfig(w.holders(), w.packs(), w.dataFragmentCount(), w.parityFragmentCount(), w.threshold(),
        w.years(), w.uptime(), w.meanOfflineHours(), w.weibullShape(), w.departuresPerMonth(), w.offlineAfter(),
        Duration.ZERO, w.checkInterval(), 0, w.fragmentBytes(), w.holdersPerNetwork(), w.networkFailuresPerYear(),
        w.sybilShare(), w.corruptionPerFragmentYear(), w.readsPerCheck(), w.seed(), List.of(), Duration.ofMinutes(5),
        0, Integer.MAX_VALUE, 0, true, liars, SimulationConfig.Away.NONE);
  }

  @Test
  void liars_areFoundByAudits_andWhatTheyClaimedIsRebuilt_soNothingIsLost() {
    // Holders always up and never leaving: liars are the only trouble. A tenth of them keep none of
    // a fifth of what they are given; each failed audit marks that copy corrupt, so the lies are
    // rebuilt long before a liar's score reaches the disqualification line. (More lies than m in
    // one pack at once would lose it: that is what vetting and the domain limits bound.)
    SimulationConfig w = new SimulationConfig(60, 200, 4, 2, 2, 0.5, 1, 5, 1, 0, Duration.ofHours(2),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 1, 0, 0, 0, 20, 5);
    SimulationResult r = new Simulation(withLiars(w, new SimulationConfig.Liars(0.1, 0.2))).run(x -> { });
    assertTrue(r.lostCopiesFoundByAudits() > 10, r.lostCopiesFoundByAudits() + " lies found");
    assertTrue(r.fragmentsRebuilt() >= r.lostCopiesFoundByAudits() - 2, "each lie found is rebuilt: " + r);
    assertEquals(0, r.losses());
    assertTrue(r.availability() > 0.999, "lies found within hours: " + r.availability());
    SimulationResult honest = new Simulation(w).run(x -> { });
    assertEquals(0, honest.lostCopiesFoundByAudits());
    assertEquals(0, honest.liarsDisqualified());
  }

  @Test
  void liarsKeepingNothing_areDisqualified_onceTheyFailEnoughAudits() {
    // About 60 copies each, none kept: 41 failures in a row from a clean record disqualify.
    SimulationConfig w = new SimulationConfig(60, 600, 4, 2, 2, 0.2, 1, 5, 1, 0, Duration.ofHours(2),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 1, 0, 0, 0, 20, 6);
    SimulationResult r = new Simulation(withLiars(w, new SimulationConfig.Liars(0.1, 1))).run(x -> { });
    assertTrue(r.liarsDisqualified() >= 1, r.liarsDisqualified() + " disqualified: " + r);
  }

  @Test
  void declaredAbsences_areNotRebuilt_undeclaredOnesAre_andNothingIsLostEitherWay() {
    // Holders always up and never leaving; a fifth of them take a 72-hour absence about once a
    // month. Eager repair (threshold m). Undeclared, each absence is silence: its copies are rebuilt
    // after 24 h. Declared, up to 2 absent copies of a pack (RS(10,16): ⌊16/8⌋) are excused while it
    // keeps k + 4 live: packs with more absent at once are rebuilt, less than half as much in all.
    SimulationConfig w = new SimulationConfig(80, 100, 10, 16, 16, 1, 1, 5, 1, 0, Duration.ofHours(24),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 1, 0, 0, 0, 20, 7);
    SimulationConfig.Away away = new SimulationConfig.Away(0.2, 72);
    SimulationResult declared = new Simulation(withAway(w, away)).run(x -> { });
    SimulationResult undeclared = new Simulation(withAway(w, away.undeclared())).run(x -> { });
    assertTrue(declared.absencesDeclared() > 100, declared.absencesDeclared() + " absences declared");
    assertTrue(declared.absencesRefused() * 20 < declared.absencesDeclared(),
        "72 h a month is within the allowance, bar a few close together: " + declared.absencesRefused() + " refused");
    assertTrue(undeclared.fragmentsRebuilt() > 300, undeclared.fragmentsRebuilt() + " rebuilt undeclared");
    assertTrue(declared.fragmentsRebuilt() * 2 < undeclared.fragmentsRebuilt(),
        declared.fragmentsRebuilt() + " rebuilt declared against " + undeclared.fragmentsRebuilt() + " undeclared");
    assertEquals(0, declared.losses());
    assertEquals(0, undeclared.losses());
    assertTrue(declared.availability() > 0.999, "declared " + declared.availability());
  }

  @Test
  void absencesBeyondTheAllowance_areRefused() {
    // Every holder away 6 days about once a month (exponential gaps: often sooner): the allowance
    // (7 days, refilled by 7 per 30) refuses some, and those are taken as silence.
    SimulationConfig w = new SimulationConfig(60, 50, 10, 10, -1, 1, 1, 5, 1, 0, Duration.ofHours(24),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 1, 0, 0, 0, 20, 8);
    SimulationResult r = new Simulation(withAway(w, new SimulationConfig.Away(1, 144))).run(x -> { });
    assertTrue(r.absencesRefused() > 50, r.absencesRefused() + " refused of " + (r.absencesDeclared()
        + r.absencesRefused()));
    assertEquals(0, r.losses());
  }

  private static SimulationConfig withAway(SimulationConfig w, SimulationConfig.Away away) {
    return new SimulationConfig(w.holders(), w.packs(), w.dataFragmentCount(), w.parityFragmentCount(), w.threshold(),
        w.years(), w.uptime(), w.meanOfflineHours(), w.weibullShape(), w.departuresPerMonth(), w.offlineAfter(),
        Duration.ZERO, w.checkInterval(), 0, w.fragmentBytes(), w.holdersPerNetwork(), w.networkFailuresPerYear(),
        w.sybilShare(), w.corruptionPerFragmentYear(), w.readsPerCheck(), w.seed(), List.of(), Duration.ofMinutes(5),
        0, Integer.MAX_VALUE, 0, true, SimulationConfig.Liars.NONE, away);
  }

  @Test
  void liars_parse_andBadSpecsAreRefusedWithTheSpec() {
    assertEquals(new SimulationConfig.Liars(0.05, 0.2), SimulationConfig.Liars.parse("0.05@0.2"));
    assertEquals(SimulationConfig.Liars.NONE, SimulationConfig.Liars.parse("0"));
    for (String bad : List.of("0.05", "a@b", "1.5@0.2", "0.1@2")) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> SimulationConfig.Liars.parse(bad));
      assertTrue(e.getMessage().contains(bad) || e.getMessage().contains("liars"), e.getMessage());
    }
  }

  @Test
  void theSameSeed_givesTheSameRun() {
    SimulationConfig small = new SimulationConfig(40, 50, 4, 4, -1, 0.2, 0.7, 8, 0.6, 0.1, Duration.ofHours(24),
        Duration.ZERO, Duration.ofHours(1), 0, 1 << 20, 2, 2, 0, 0.01, 10, 7);
    assertEquals(new Simulation(small).run(x -> { }), new Simulation(small).run(x -> { }));
  }

  @Test
  void closedForms_knownValues() {
    assertEquals(1 - Math.pow(0.3, 2) , ClosedForms.availability(2, 1, 0.7), 1e-12);
    // n = 3, k = 2, repair below 3: MTTDL = (5λ + μ) / (6λ²).
    double l = 0.01;
    double mu = 0.2;
    assertEquals((5 * l + mu) / (6 * l * l), ClosedForms.meanHoursToLoss(3, 2, 1, l, 1 / mu), 1e-6);
    // No repair: the mean of the time until 2 of 3 exponential lifetimes have ended.
    assertEquals(1 / (3 * l) + 1 / (2 * l), ClosedForms.meanHoursToLoss(3, 2, 0, l, 1), 1e-6);
    double[] zero = ClosedForms.poissonInterval(0, 1000);
    assertEquals(3.689 / 1000, zero[1], 0.00005, "two-sided 95 %: chi-square(0.975, 2) / 2");
    assertEquals(Math.log(Math.sqrt(Math.PI)), Simulation.logGamma(1.5) - Math.log(0.5), 1e-7);
  }
}
