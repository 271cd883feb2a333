/**
 * Reed-Solomon erasure coding over GF(2^8) (polynomial 0x11D), systematic, with the matrix
 * Backblaze JavaReedSolomon builds. Start with {@link dev.narvault.core.erasure.Codec}; make one
 * with {@link dev.narvault.core.erasure.Codecs}. {@link dev.narvault.core.erasure.BackblazeCodec}
 * is the reference implementation whose bytes every other codec must reproduce.
 */
package dev.narvault.core.erasure;
