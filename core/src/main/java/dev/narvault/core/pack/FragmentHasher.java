package dev.narvault.core.pack;

import dev.narvault.core.nix.Sha256Hash;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;

/**
 * Hashes a fragment as its bytes stream past: one SHA-256 per block, then the fragment id. The
 * holder uses it to check an upload, the encoder to describe what it wrote.
 */
public final class FragmentHasher {
  private final int blockSize;
  private final MessageDigest block = Sha256Hash.newDigest();
  private final ByteArrayOutputStream hashes = new ByteArrayOutputStream();
  private int inBlock;
  private long length;

  public FragmentHasher(int blockSize) {
    if (blockSize < 1) {
      throw new IllegalArgumentException("blockSize must be >= 1, got " + blockSize);
    }
    this.blockSize = blockSize;
  }

  public void update(byte[] data, int off, int len) {
    while (len > 0) {
      int n = Math.min(len, blockSize - inBlock);
      block.update(data, off, n);
      inBlock += n;
      off += n;
      len -= n;
      length += n;
      if (inBlock == blockSize) {
        hashes.writeBytes(block.digest());
        inBlock = 0;
      }
    }
  }

  public long length() {
    return length;
  }

  /** The finished fragment's digest; the hasher is spent afterwards. */
  public FragmentDigest finish() {
    if (inBlock > 0) {
      hashes.writeBytes(block.digest());
      inBlock = 0;
    }
    if (length == 0) {
      throw new IllegalStateException("a fragment has at least one byte");
    }
    BlockHashes blockHashes = new BlockHashes(hashes.toByteArray());
    return new FragmentDigest(blockHashes.fragmentId(length, blockSize), length, blockHashes);
  }
}
