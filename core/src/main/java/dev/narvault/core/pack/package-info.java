/**
 * Packs: many NAR objects concatenated, cut into data fragments and Reed-Solomon encoded into
 * parity fragments, each fragment hashed block by block, all described by a signed manifest.
 *
 * <p>Start with {@link dev.narvault.core.pack.PackLayout} (the geometry), then
 * {@link dev.narvault.core.pack.PackEncoder} (streaming encode, bounded memory),
 * {@link dev.narvault.core.pack.Manifest} and {@link dev.narvault.core.pack.ManifestCodec}
 * (canonical JSON and signatures), {@link dev.narvault.core.pack.PackReader} (read a byte range
 * back in order, verifying every block, decoding around missing or lying fragments) and
 * {@link dev.narvault.core.pack.PackFiller} (the same into a file, every fragment at once). The
 * format is specified in {@code docs/format.md}.
 */
package dev.narvault.core.pack;
