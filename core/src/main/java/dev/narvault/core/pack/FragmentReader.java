package dev.narvault.core.pack;

import java.io.IOException;

/**
 * Reads raw, unverified bytes of a pack's fragments from wherever they live (a holder over HTTP,
 * a local file). {@link PackReader} verifies every block it gets from here.
 */
@FunctionalInterface
public interface FragmentReader {
  /**
   * Returns exactly {@code length} bytes of fragment {@code fragmentIndex} at {@code offset}, or
   * throws when the fragment cannot be read (holder down, short read, ...).
   */
  byte[] read(int fragmentIndex, long offset, int length) throws IOException;

  /**
   * False when a read of this fragment would very likely fail now (its holders failed recently):
   * readers then read around it from the start instead of asking, and ask it last when decoding.
   * Only a hint; a fragment said to be available may still fail.
   */
  default boolean likelyAvailable(int fragmentIndex) {
    return true;
  }

  /**
   * How long a read of a MiB of this fragment is expected to take now, in ms, its holder's other
   * reads in flight counted (lower is faster; 0 when not known yet, so that unknown holders get
   * tried and measured). Decoding reads the k fastest available fragments first, and
   * {@link PackFiller} reads around a piece that takes a few times this. Only a hint.
   */
  default double expectedCost(int fragmentIndex) {
    return 0;
  }
}
