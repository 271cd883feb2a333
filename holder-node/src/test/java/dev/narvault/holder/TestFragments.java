package dev.narvault.holder;

import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import java.util.Random;

/** Fragment bytes and ids for the holder tests. */
final class TestFragments {
  private TestFragments() {}

  /** {@code n} reproducible random bytes. */
  static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** The fragment id of {@code bytes} hashed in blocks of {@code blockSize}. */
  static FragmentId idOf(byte[] bytes, int blockSize) {
    FragmentHasher h = new FragmentHasher(blockSize);
    h.update(bytes, 0, bytes.length);
    return h.finish().id();
  }
}
