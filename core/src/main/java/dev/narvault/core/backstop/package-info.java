/**
 * A pack's copy of last resort in S3: one object holding the pack's bytes and its signed manifest.
 * Start with {@link dev.narvault.core.backstop.BackstopObject} (the object's layout, {@code
 * docs/format.md} §5a); {@link dev.narvault.core.backstop.BackstopFragments} reads data fragments
 * out of it, ranged, for {@link dev.narvault.core.pack.PackReader} to verify like any holder's.
 */
package dev.narvault.core.backstop;
