/**
 * The coordinator: holder membership ({@link dev.narvault.repair.Membership}), its HTTP server
 * ({@link dev.narvault.repair.CoordinatorServer}) and audits ({@link dev.narvault.repair.Auditor}).
 */
package dev.narvault.repair;
