package dev.narvault.core.erasure;

/**
 * A systematic Reed-Solomon code: {@code dataFragmentCount} data fragments, from which
 * {@code parityFragmentCount} parity fragments are computed, such that any
 * {@code dataFragmentCount} of them recover all the others.
 *
 * <p>Fragments are passed as one array of {@code totalFragmentCount()} byte arrays, data first,
 * and every operation works on the same byte range {@code [offset, offset + length)} of each.
 * Implementations are thread-safe and produce identical bytes.
 */
public interface Codec {
  int dataFragmentCount();

  int parityFragmentCount();

  default int totalFragmentCount() {
    return dataFragmentCount() + parityFragmentCount();
  }

  /** A short name for logs, manifests and the command line ({@code backblaze}, {@code vector}). */
  String name();

  /** Computes the parity fragments {@code [k, k+m)} from the data fragments {@code [0, k)}. */
  void encodeParity(byte[][] fragments, int offset, int length);

  /**
   * Recomputes, in place, every fragment whose {@code present} flag is false, from at least
   * {@code dataFragmentCount} present ones. A missing fragment given as {@code null} is not wanted
   * and need not be computed.
   *
   * @throws NotEnoughFragmentsException when fewer than {@code dataFragmentCount} are present
   */
  void reconstruct(byte[][] fragments, boolean[] present, int offset, int length)
      throws NotEnoughFragmentsException;
}
