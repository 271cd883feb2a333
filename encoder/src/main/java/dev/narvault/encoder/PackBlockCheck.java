package dev.narvault.encoder;

import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackLayout;
import java.io.IOException;

/**
 * Checks a pack's bytes, given in order, against its manifest's block hashes: data fragment
 * {@code i} is the pack's bytes from {@code i · fragmentSize}, zero-padded past the pack's end
 * ({@code docs/format.md}), and each of its blocks must match. {@link BackstopWriter} passes a
 * pack through this before its backstop counts, so that a spool that rotted on the encoder's disk
 * never becomes the copy of last resort.
 */
final class PackBlockCheck {
  private final Manifest manifest;
  private final PackLayout layout;
  private final byte[] block;
  /** Position in the data fragments laid end to end (the pack, then its zero padding). */
  private long position;
  private int filled;

  PackBlockCheck(Manifest manifest) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    this.block = new byte[layout.blockSize()];
  }

  /** The next {@code len} bytes of the pack. */
  void write(byte[] bytes, int off, int len) throws IOException {
    if (position + filled + len > layout.packLength()) {
      throw new IOException("more bytes than the pack's " + layout.packLength());
    }
    while (len > 0) {
      int want = wanted();
      int n = Math.min(want - filled, len);
      System.arraycopy(bytes, off, block, filled, n);
      filled += n;
      off += n;
      len -= n;
      if (filled == want) {
        checkBlock();
      }
    }
  }

  /** Checks the zero padding of the last data fragments: call once every byte of the pack was written. */
  void finish() throws IOException {
    if (position + filled != layout.packLength()) {
      throw new IOException("the pack gave " + (position + filled) + " bytes, its manifest says "
          + layout.packLength());
    }
    long end = layout.dataFragmentCount() * layout.fragmentSize();
    while (position < end) {
      int want = wanted();
      java.util.Arrays.fill(block, filled, want, (byte) 0);
      filled = want;
      checkBlock();
    }
  }

  /** The length of the block at {@link #position}. */
  private int wanted() {
    return layout.blockLength(Math.toIntExact(position % layout.fragmentSize() / layout.blockSize()));
  }

  private void checkBlock() throws IOException {
    int fragment = Math.toIntExact(position / layout.fragmentSize());
    int index = Math.toIntExact(position % layout.fragmentSize() / layout.blockSize());
    if (!manifest.fragments().get(fragment).blockHashes().matches(index, block, 0, filled)) {
      throw new IOException("block " + index + " of data fragment " + fragment + " of pack "
          + dev.narvault.core.pack.ManifestCodec.packId(manifest).shortForm()
          + " does not match its manifest: the pack's bytes here are not what was encoded");
    }
    position += filled;
    filled = 0;
  }
}
