package dev.narvault.core.pack;

import java.io.IOException;

/**
 * Reads runs of whole blocks of a pack's fragments and checks each block against the manifest's
 * hashes: the one place where bytes from a holder become trusted. Shared by {@link PackReader}
 * and {@link FragmentRebuilder}.
 */
final class BlockVerifier {
  private final Manifest manifest;
  private final PackLayout layout;
  private final FragmentReader fragments;

  BlockVerifier(Manifest manifest, FragmentReader fragments) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    this.fragments = fragments;
  }

  /** Verified bytes of blocks {@code [first, end)} of fragment {@code index}. */
  byte[] read(int index, int first, int end) throws IOException {
    int length = byteLength(first, end);
    byte[] bytes = fragments.read(index, (long) first * layout.blockSize(), length);
    if (bytes.length != length) {
      throw new IOException("fragment " + index + " returned " + bytes.length + " bytes, asked for " + length);
    }
    verify(index, first, end, bytes);
    return bytes;
  }

  /** Checks bytes of blocks {@code [first, end)} of fragment {@code index} (read or decoded). */
  void verify(int index, int first, int end, byte[] bytes) throws FragmentCorruptException {
    BlockHashes hashes = manifest.fragments().get(index).blockHashes();
    int off = 0;
    for (int b = first; b < end; b++) {
      int len = layout.blockLength(b);
      if (!hashes.matches(b, bytes, off, len)) {
        throw new FragmentCorruptException(index, b);
      }
      off += len;
    }
  }

  /** Bytes in blocks {@code [first, end)} of a fragment (the last block may be short). */
  int byteLength(int first, int end) {
    long from = (long) first * layout.blockSize();
    long to = Math.min(layout.fragmentSize(), (long) end * layout.blockSize());
    return Math.toIntExact(to - from);
  }
}
