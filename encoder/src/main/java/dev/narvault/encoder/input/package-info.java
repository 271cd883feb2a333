/**
 * Where a migrate run's narinfo keys come from, and which of them it takes: a listing of the
 * bucket ({@link dev.narvault.encoder.input.NarInfoListing}: the top level only, from a
 * checkpoint, one shard's range), or files that spare the listing
 * ({@link dev.narvault.encoder.input.KeyFiles}: key lists and S3 Inventory manifests, streamed),
 * cut into {@link dev.narvault.encoder.input.Shard}s by store hash. Start with
 * {@link dev.narvault.encoder.input.NarInfoKeys}.
 */
package dev.narvault.encoder.input;
