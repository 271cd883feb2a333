/**
 * The client side of the holder protocol ({@code docs/protocol.md}): storing fragments on a
 * holder and reading ranges of them back. Nothing read from a holder is trusted here; callers
 * verify against the manifest ({@link dev.narvault.core.pack.PackReader}).
 */
package dev.narvault.core.holder;
