package dev.narvault.core.pack;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/** Random access to a pack's bytes while it is encoded. */
@FunctionalInterface
public interface PackSource {
  /** Reads exactly {@code len} bytes at {@code packOffset} into {@code dst[off, off+len)}. */
  void read(long packOffset, byte[] dst, int off, int len) throws IOException;

  static PackSource of(byte[] pack) {
    return (packOffset, dst, off, len) -> System.arraycopy(pack, Math.toIntExact(packOffset), dst, off, len);
  }

  /** Positional reads from an open channel (a spooled pack file); the caller closes it. */
  static PackSource of(FileChannel channel) {
    return (packOffset, dst, off, len) -> {
      ByteBuffer buf = ByteBuffer.wrap(dst, off, len);
      long position = packOffset;
      while (buf.hasRemaining()) {
        int n = channel.read(buf, position);
        if (n < 0) {
          throw new EOFException("pack file ends before offset " + (packOffset + len));
        }
        position += n;
      }
    };
  }
}
