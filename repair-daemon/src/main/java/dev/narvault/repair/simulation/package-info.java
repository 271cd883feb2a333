/**
 * A discrete-event simulation of holders coming, going and failing over months or years, driving
 * the coordinator's own policy classes ({@link dev.narvault.repair.policy.HolderRules},
 * {@link dev.narvault.repair.policy.PackHealth}, {@link dev.narvault.repair.policy.PlacementPolicy})
 * on simulated time. Start with {@link dev.narvault.repair.simulation.Simulation};
 * {@link dev.narvault.repair.simulation.ClosedForms} holds the formulas it is validated against.
 */
package dev.narvault.repair.simulation;
