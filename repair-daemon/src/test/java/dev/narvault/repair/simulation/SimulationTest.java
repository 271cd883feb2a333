package dev.narvault.repair.simulation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
