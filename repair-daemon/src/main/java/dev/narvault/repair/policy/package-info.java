/**
 * The coordinator's rules, as pure functions of catalog rows and the time: which holders are live,
 * healthy and may receive fragments ({@link dev.narvault.repair.policy.HolderRules}), where new
 * fragments go ({@link dev.narvault.repair.policy.PlacementPolicy}), how healthy a pack is and
 * which packs to repair first ({@link dev.narvault.repair.policy.PackHealth}). No network, no
 * database: the coordinator and the durability simulator run the same code.
 */
package dev.narvault.repair.policy;
