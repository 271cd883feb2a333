package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.IOException;
import java.io.OutputStream;
import java.util.BitSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a byte range of a pack, verified block by block. Data fragments are read directly; when
 * one fails (unreachable, short, or a block that does not match its hash) the same blocks are read
 * from any {@code k} other fragments, each verified, and the missing ones decoded for just that
 * range. Output is written in chunks of at most {@code chunkBlocks} blocks, never a whole NAR at
 * once, and no unverified byte is ever written.
 *
 * <p>A reader remembers which fragments failed, so it does not retry a bad holder for every chunk.
 * It is meant for one request: not thread-safe.
 */
public final class PackReader {
  private static final Logger LOG = LoggerFactory.getLogger(PackReader.class);
  public static final int DEFAULT_CHUNK_BLOCKS = 16;

  private final Manifest manifest;
  private final PackLayout layout;
  private final Codec codec;
  private final FragmentReader fragments;
  private final int chunkBlocks;
  private final java.util.concurrent.Executor executor;
  private final BitSet failed = new BitSet();

  /**
   * @param executor runs the k reads of a degraded range at once (a virtual-thread executor for
   *     network holders); {@code Runnable::run} reads them one after another
   */
  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments, int chunkBlocks,
      java.util.concurrent.Executor executor) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    if (codec.dataFragmentCount() != layout.dataFragmentCount()
        || codec.parityFragmentCount() != layout.parityFragmentCount()) {
      throw new IllegalArgumentException("codec does not match the manifest's RS("
          + layout.dataFragmentCount() + "," + layout.parityFragmentCount() + ")");
    }
    if (chunkBlocks < 1) {
      throw new IllegalArgumentException("chunkBlocks must be >= 1, got " + chunkBlocks);
    }
    this.codec = codec;
    this.fragments = fragments;
    this.chunkBlocks = chunkBlocks;
    this.executor = executor;
  }

  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments, int chunkBlocks) {
    this(manifest, codec, fragments, chunkBlocks, Runnable::run);
  }

  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments) {
    this(manifest, codec, fragments, DEFAULT_CHUNK_BLOCKS);
  }

  /** Fragments that failed so far (unreachable or corrupt), by index. */
  public BitSet failedFragments() {
    return (BitSet) failed.clone();
  }

  /** Writes pack bytes {@code [packOffset, packOffset + length)} to {@code out}, verified. */
  public void read(long packOffset, long length, OutputStream out) throws IOException {
    for (FragmentRange range : ReadPlanner.plan(layout, packOffset, length)) {
      int first = ReadPlanner.firstBlock(layout, range);
      int end = ReadPlanner.endBlock(layout, range);
      for (int block = first; block < end; block += chunkBlocks) {
        int chunkEnd = Math.min(end, block + chunkBlocks);
        long chunkStart = (long) block * layout.blockSize();
        byte[] bytes = readBlocks(range.fragmentIndex(), block, chunkEnd);
        long from = Math.max(range.fragmentOffset(), chunkStart);
        long to = Math.min(range.fragmentOffset() + range.length(), chunkStart + bytes.length);
        out.write(bytes, (int) (from - chunkStart), (int) (to - from));
      }
    }
  }

  /** Verified bytes of blocks {@code [first, end)} of fragment {@code index}. */
  private byte[] readBlocks(int index, int first, int end) throws IOException {
    if (!failed.get(index)) {
      try {
        return readVerified(index, first, end);
      } catch (IOException e) {
        markFailed(index, e);
      }
    }
    return decode(index, first, end);
  }

  private byte[] decode(int wanted, int first, int end) throws IOException {
    int k = layout.dataFragmentCount();
    int n = layout.totalFragmentCount();
    byte[][] work = new byte[n][];
    boolean[] present = new boolean[n];
    java.util.ArrayDeque<Integer> candidates = new java.util.ArrayDeque<>();
    for (int i = 0; i < n; i++) {
      if (i != wanted && !failed.get(i)) {
        candidates.add(i);
      }
    }
    // Read k fragments at once; each one that fails is replaced by the next candidate.
    java.util.concurrent.ExecutorCompletionService<byte[]> reads =
        new java.util.concurrent.ExecutorCompletionService<>(executor);
    java.util.Map<java.util.concurrent.Future<byte[]>, Integer> inFlight = new java.util.HashMap<>();
    int have = 0;
    while (have < k) {
      while (have + inFlight.size() < k && !candidates.isEmpty()) {
        int index = candidates.poll();
        inFlight.put(reads.submit(() -> readVerified(index, first, end)), index);
      }
      if (inFlight.isEmpty()) {
        break;
      }
      java.util.concurrent.Future<byte[]> done = take(reads);
      int index = inFlight.remove(done);
      try {
        work[index] = done.get();
        present[index] = true;
        have++;
      } catch (java.util.concurrent.ExecutionException e) {
        markFailed(index, e.getCause() instanceof IOException io ? io : new IOException(e.getCause()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while reading fragments");
      }
    }
    if (have < k) {
      throw new NotEnoughFragmentsException("pack " + ManifestCodec.packId(manifest).substring(0, 12)
          + ": only " + have + " of " + n + " fragments readable for blocks " + first + ".." + end
          + ", " + k + " needed");
    }
    int length = byteLength(first, end);
    work[wanted] = new byte[length];
    codec.reconstruct(work, present, 0, length);
    verify(wanted, first, end, work[wanted]);
    return work[wanted];
  }

  private static java.util.concurrent.Future<byte[]> take(java.util.concurrent.ExecutorCompletionService<byte[]> reads)
      throws java.io.InterruptedIOException {
    try {
      return reads.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while reading fragments");
    }
  }

  private byte[] readVerified(int index, int first, int end) throws IOException {
    int length = byteLength(first, end);
    byte[] bytes = fragments.read(index, (long) first * layout.blockSize(), length);
    if (bytes.length != length) {
      throw new IOException("fragment " + index + " returned " + bytes.length + " bytes, asked for " + length);
    }
    verify(index, first, end, bytes);
    return bytes;
  }

  private void verify(int index, int first, int end, byte[] bytes) throws FragmentCorruptException {
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

  private int byteLength(int first, int end) {
    long from = (long) first * layout.blockSize();
    long to = Math.min(layout.fragmentSize(), (long) end * layout.blockSize());
    return Math.toIntExact(to - from);
  }

  private void markFailed(int index, IOException e) {
    failed.set(index);
    if (e instanceof FragmentCorruptException) {
      // A holder served bytes that do not match the signed manifest: worth an operator's look.
      LOG.warn("fragment {} ({}) is corrupt, reading around it: {}", index,
          manifest.fragments().get(index).id(), e.getMessage());
    } else {
      LOG.debug("fragment {} ({}) unavailable, reading around it: {}", index,
          manifest.fragments().get(index).id(), e.getMessage());
    }
  }

  /** Convenience for tests and small reads: the verified bytes of a range. */
  public byte[] readAll(long packOffset, int length) throws IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(length);
    read(packOffset, length, out);
    return out.toByteArray();
  }
}
