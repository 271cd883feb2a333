package dev.narvault.core.pack;

/**
 * The geometry of a pack: the pack's bytes, zero-padded to {@code k·F}, are cut into {@code k}
 * contiguous data fragments of {@code F = ⌈packLength / k⌉} bytes (fragment {@code i} holds pack
 * bytes {@code [i·F, (i+1)·F)}), plus {@code m} parity fragments of the same size. Each fragment
 * is hashed in blocks of {@code blockSize} bytes; the last block may be shorter.
 */
public record PackLayout(
    int dataFragmentCount, int parityFragmentCount, long packLength, long fragmentSize, int blockSize) {
  public static final int DEFAULT_BLOCK_SIZE = 64 * 1024;

  public PackLayout {
    if (dataFragmentCount < 1 || parityFragmentCount < 1 || dataFragmentCount + parityFragmentCount > 256) {
      throw new IllegalArgumentException("need 1 <= k, 1 <= m, k + m <= 256; got k=" + dataFragmentCount
          + " m=" + parityFragmentCount);
    }
    if (packLength < 1) {
      throw new IllegalArgumentException("packLength must be >= 1, got " + packLength);
    }
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
    }
    long expected = Math.ceilDiv(packLength, (long) dataFragmentCount);
    if (fragmentSize != expected) {
      throw new IllegalArgumentException("fragmentSize must be ceil(" + packLength + " / "
          + dataFragmentCount + ") = " + expected + ", got " + fragmentSize);
    }
  }

  public static PackLayout of(int dataFragmentCount, int parityFragmentCount, long packLength, int blockSize) {
    if (dataFragmentCount < 1) {
      throw new IllegalArgumentException("dataFragmentCount must be >= 1, got " + dataFragmentCount);
    }
    return new PackLayout(dataFragmentCount, parityFragmentCount, packLength,
        Math.ceilDiv(packLength, (long) dataFragmentCount), blockSize);
  }

  public int totalFragmentCount() {
    return dataFragmentCount + parityFragmentCount;
  }

  /** Blocks per fragment. */
  public int blockCount() {
    return Math.toIntExact(Math.ceilDiv(fragmentSize, (long) blockSize));
  }

  /** Length of block {@code block}: {@code blockSize}, except possibly the last. */
  public int blockLength(int block) {
    return (int) Math.min(blockSize, fragmentSize - (long) block * blockSize);
  }
}
