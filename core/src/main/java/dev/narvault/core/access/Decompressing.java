package dev.narvault.core.access;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Opens lists and logs as operators have them: gzip (CloudFront and S3 deliver logs so), xz (a
 * channel's {@code store-paths.xz}) or plain, told apart by their first bytes, not their names.
 */
public final class Decompressing {
  /** An xz stream needing more memory than this (KiB) to decompress is refused. */
  static final int XZ_MEMORY_LIMIT_KIB = 128 * 1024;
  private static final byte[] GZIP = {0x1f, (byte) 0x8b};
  private static final byte[] XZ = {(byte) 0xfd, '7', 'z', 'X', 'Z', 0};

  private Decompressing() {}

  /** What the first bytes say a stream is. */
  public enum Kind { GZIP, XZ, PLAIN }

  /** The text of {@code raw}: decompressed when its first bytes are gzip's or xz's, else as it is. */
  public static InputStream open(InputStream raw) throws IOException {
    BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
    return switch (kind(in)) {
      case GZIP -> new GZIPInputStream(in, 1 << 16);
      case XZ -> new BufferedInputStream(new XZInputStream(in, XZ_MEMORY_LIMIT_KIB), 1 << 16);
      case PLAIN -> in;
    };
  }

  /** Peeks at a stream's first bytes (it must support mark) and says what it is. */
  static Kind kind(InputStream in) throws IOException {
    in.mark(XZ.length);
    byte[] head = in.readNBytes(XZ.length);
    in.reset();
    if (startsWith(head, XZ)) {
      return Kind.XZ;
    }
    return startsWith(head, GZIP) ? Kind.GZIP : Kind.PLAIN;
  }

  private static boolean startsWith(byte[] head, byte[] magic) {
    if (head.length < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if (head[i] != magic[i]) {
        return false;
      }
    }
    return true;
  }
}
