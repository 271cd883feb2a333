/**
 * {@code narvault quickstart}: the whole system in one process on loopback — an embedded S3
 * server seeded with a generated binary cache, holders, a migration, and the gateway.
 * {@link dev.narvault.cli.quickstart.Quickstart} runs it; {@link dev.narvault.cli.quickstart.EmbeddedS3}
 * and {@link dev.narvault.cli.quickstart.CacheGenerator} are its parts.
 */
package dev.narvault.cli.quickstart;
