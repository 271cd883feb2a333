/**
 * The migration tool: scan the binary cache, verify each NAR against its signed narinfo, pack,
 * encode, place fragments on holders, confirm them, record everything in the catalog. Start with
 * {@link dev.narvault.encoder.Migration}; {@link dev.narvault.encoder.PackSpool} is where a pack
 * is assembled on disk and {@link dev.narvault.encoder.Placement} where its fragments go out.
 */
package dev.narvault.encoder;
