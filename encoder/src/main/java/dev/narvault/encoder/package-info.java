/**
 * The migration tool: scan the binary cache, verify each NAR against its signed narinfo, pack,
 * encode, place fragments on holders, confirm them, record everything in the catalog. Start with
 * {@link dev.narvault.encoder.Migration}; {@link dev.narvault.encoder.MigrationInput} is what a
 * run reads (its keys from {@code input}, its selection sets from {@code sorted}, its
 * {@link dev.narvault.encoder.ListingCheckpoint}), {@link dev.narvault.encoder.PackSpool} is
 * where a pack is assembled on disk. {@link dev.narvault.encoder.Promotion} and
 * {@link dev.narvault.encoder.Restoration} put archived NARs back into S3 through {@code PutBack}.
 */
package dev.narvault.encoder;
