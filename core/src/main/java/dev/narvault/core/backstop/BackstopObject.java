package dev.narvault.core.backstop;

import dev.narvault.core.pack.PackId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The layout of a backstop object ({@code docs/format.md} §5a), stored under
 * {@code packs/<pack-id>}:
 *
 * <pre>
 * [0, L)            the pack's bytes (L = the manifest's packLength): data fragment i is
 *                   [i·F, (i+1)·F) of these, zero-padded past L, as in the pack's layout
 * [L, L + M)        the signed manifest, byte for byte as holders and the catalog keep it
 * [L + M, L + M + 16) trailer: M as an unsigned 64-bit big-endian integer, then "NVBKSTP1"
 * </pre>
 *
 * The pack's bytes come first so that a range of the pack is the same range of the object; the
 * trailer lets someone holding only the bucket find the manifest (read the last 16 bytes, then the
 * M bytes before them), check its signature and so the whole object.
 */
public final class BackstopObject {
  /** The last 8 bytes of every backstop object. */
  public static final byte[] MAGIC = "NVBKSTP1".getBytes(StandardCharsets.US_ASCII);
  public static final int TRAILER_BYTES = 16;

  private BackstopObject() {}

  /** The object key of {@code packId}'s backstop. */
  public static String key(PackId packId) {
    return "packs/" + packId.hex();
  }

  /** The object's length for a pack of {@code packLength} bytes and a signed manifest of {@code manifestBytes}. */
  public static long length(long packLength, int manifestBytes) {
    return packLength + manifestBytes + TRAILER_BYTES;
  }

  /** What follows the pack's bytes: the signed manifest and the trailer. */
  public static byte[] tail(byte[] signedManifest) {
    ByteBuffer tail = ByteBuffer.allocate(signedManifest.length + TRAILER_BYTES);
    tail.put(signedManifest).putLong(signedManifest.length).put(MAGIC);
    return tail.array();
  }

  /**
   * The manifest's length from a trailer.
   *
   * @throws IllegalArgumentException when {@code trailer} is not a backstop trailer
   */
  public static long manifestLength(byte[] trailer) {
    if (trailer.length != TRAILER_BYTES
        || !java.util.Arrays.equals(trailer, 8, 16, MAGIC, 0, MAGIC.length)) {
      throw new IllegalArgumentException("not a backstop trailer: " + java.util.HexFormat.of().formatHex(trailer));
    }
    long length = ByteBuffer.wrap(trailer).getLong();
    if (length < 1) {
      throw new IllegalArgumentException("backstop trailer names a manifest of " + length + " bytes");
    }
    return length;
  }
}
