package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Encodes a pack into {@code k + m} fragments in stripes: each step reads {@code stripeSize}
 * bytes of every data fragment from the {@link PackSource}, computes the parity for them, writes
 * all {@code k + m} pieces to their outputs and hashes them. Memory is
 * {@code (k + m) · stripeSize} whatever the pack size.
 */
public final class PackEncoder {
  /** 1 MiB per fragment per step: large enough for the codec's speed, small enough for wide codes. */
  public static final int DEFAULT_STRIPE_SIZE = 1 << 20;

  private final Codec codec;
  private final int stripeSize;

  public PackEncoder(Codec codec, int stripeSize) {
    if (stripeSize < 1) {
      throw new IllegalArgumentException("stripeSize must be >= 1, got " + stripeSize);
    }
    this.codec = codec;
    this.stripeSize = stripeSize;
  }

  public PackEncoder(Codec codec) {
    this(codec, DEFAULT_STRIPE_SIZE);
  }

  /**
   * Encodes the pack described by {@code layout}; fragment {@code i} is written to
   * {@code outputs.get(i)} (not closed here).
   *
   * @return the digest of every fragment, by index
   */
  public List<FragmentDigest> encode(PackSource source, PackLayout layout, List<? extends OutputStream> outputs)
      throws IOException {
    int k = layout.dataFragmentCount();
    int n = layout.totalFragmentCount();
    if (codec.dataFragmentCount() != k || codec.parityFragmentCount() != layout.parityFragmentCount()) {
      throw new IllegalArgumentException("codec is RS(" + codec.dataFragmentCount() + ","
          + codec.parityFragmentCount() + ") but layout is RS(" + k + "," + layout.parityFragmentCount() + ")");
    }
    if (outputs.size() != n) {
      throw new IllegalArgumentException("expected " + n + " fragment outputs, got " + outputs.size());
    }
    // Stripes hold whole blocks so that no hash spans two steps in a way a reader must care about.
    int stripe = (int) Math.min(layout.fragmentSize(),
        Math.max(layout.blockSize(), (long) stripeSize / layout.blockSize() * layout.blockSize()));
    byte[][] buffers = new byte[n][stripe];
    List<FragmentHasher> hashers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      hashers.add(new FragmentHasher(layout.blockSize()));
    }
    for (long at = 0; at < layout.fragmentSize(); at += stripe) {
      int len = (int) Math.min(stripe, layout.fragmentSize() - at);
      for (int i = 0; i < k; i++) {
        readData(source, layout, i, at, buffers[i], len);
      }
      codec.encodeParity(buffers, 0, len);
      // Hashing is the larger part of the work left: the fragments are hashed in parallel.
      try {
        java.util.stream.IntStream.range(0, n).parallel().forEach(i -> {
          try {
            outputs.get(i).write(buffers[i], 0, len);
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
          hashers.get(i).update(buffers[i], 0, len);
        });
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause();
      }
    }
    List<FragmentDigest> digests = new ArrayList<>(n);
    for (FragmentHasher h : hashers) {
      digests.add(h.finish());
    }
    return digests;
  }

  /** Fills {@code buf[0, len)} with data fragment {@code i} at {@code at}, zeros past the pack's end. */
  private static void readData(PackSource source, PackLayout layout, int i, long at, byte[] buf, int len)
      throws IOException {
    long packOffset = i * layout.fragmentSize() + at;
    long available = Math.max(0, Math.min(len, layout.packLength() - packOffset));
    if (available > 0) {
      source.read(packOffset, buf, 0, (int) available);
    }
    Arrays.fill(buf, (int) available, len, (byte) 0);
  }
}
