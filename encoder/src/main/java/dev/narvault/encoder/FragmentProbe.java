package dev.narvault.encoder;

/**
 * Asks a holder whether it still serves a fragment (a {@code HEAD}): the drain's per-fragment
 * proof, at most 10 minutes old when it deletes an S3 copy, that the fragments it counts are
 * there and not only that their holders answer. A seam so that drain tests can make a holder lose
 * a fragment.
 */
@FunctionalInterface
interface FragmentProbe {
  /**
   * True when the holder at {@code endpoint} answers that it has fragment {@code fragmentId}, of
   * {@code length} bytes; false on any failure, or any other length (a truncated copy).
   */
  boolean present(String endpoint, String fragmentId, long length);
}
