package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
  private final BlockVerifier blocks;
  private final Options options;
  private final BitSet failed = new BitSet();

  /**
   * How a reader works.
   *
   * @param chunkBlocks blocks written per step: the most a reader holds in memory per fragment
   * @param executor runs reads that may overlap: the k reads of a degraded range, and a direct
   *     read being hedged (a virtual-thread executor for network holders); {@code Runnable::run}
   *     reads one after another and never hedges
   * @param hedgeAfter a direct read still unanswered after this long is read around by decoding,
   *     while it goes on; whichever finishes first wins
   */
  public record Options(int chunkBlocks, Executor executor, Duration hedgeAfter) {
    public static final Options DEFAULTS = new Options(DEFAULT_CHUNK_BLOCKS, Runnable::run, Duration.ofSeconds(2));

    public Options {
      if (chunkBlocks < 1) {
        throw new IllegalArgumentException("chunkBlocks must be >= 1, got " + chunkBlocks);
      }
      if (hedgeAfter.isNegative()) {
        throw new IllegalArgumentException("hedgeAfter must be >= 0, got " + hedgeAfter);
      }
    }

    public Options withChunkBlocks(int blocks) {
      return new Options(blocks, executor, hedgeAfter);
    }

    public Options withExecutor(Executor e, Duration hedge) {
      return new Options(chunkBlocks, e, hedge);
    }
  }

  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments, Options options) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    if (codec.dataFragmentCount() != layout.dataFragmentCount()
        || codec.parityFragmentCount() != layout.parityFragmentCount()) {
      throw new IllegalArgumentException("codec does not match the manifest's RS("
          + layout.dataFragmentCount() + "," + layout.parityFragmentCount() + ")");
    }
    this.codec = codec;
    this.blocks = new BlockVerifier(manifest, fragments);
    this.options = options;
  }

  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments) {
    this(manifest, codec, fragments, Options.DEFAULTS);
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
      for (int block = first; block < end; block += options.chunkBlocks()) {
        int chunkEnd = Math.min(end, block + options.chunkBlocks());
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
    if (failed.get(index)) {
      return decode(index, first, end);
    }
    FutureTask<byte[]> direct = new FutureTask<>(() -> blocks.read(index, first, end));
    options.executor().execute(direct);
    try {
      return direct.get(options.hedgeAfter().toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException slow) {
      return hedge(direct, index, first, end);
    } catch (ExecutionException e) {
      markFailed(asIo(e), index);
      return decode(index, first, end);
    } catch (InterruptedException e) {
      direct.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading fragment " + index);
    }
  }

  /**
   * The direct read is slow: decode the range from other fragments meanwhile. If that works, the
   * slow holder is dropped for the rest of this read; if not, wait for the direct read after all.
   */
  private byte[] hedge(FutureTask<byte[]> direct, int index, int first, int end)
      throws IOException {
    try {
      byte[] decoded = decode(index, first, end);
      if (!direct.isDone()) {
        direct.cancel(true);
        markFailed(new IOException("slower than " + options.hedgeAfter().toMillis() + " ms, read around"), index);
      }
      return decoded;
    } catch (IOException decodeFailed) {
      try {
        return direct.get();
      } catch (ExecutionException e) {
        markFailed(asIo(e), index);
        throw decodeFailed;
      } catch (InterruptedException e) {
        direct.cancel(true);
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while reading fragment " + index);
      }
    }
  }

  private static IOException asIo(ExecutionException e) {
    return e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
  }

  private byte[] decode(int wanted, int first, int end) throws IOException {
    int n = layout.totalFragmentCount();
    ArrayDeque<Integer> candidates = new ArrayDeque<>();
    for (int i = 0; i < n; i++) {
      if (i != wanted && !failed.get(i)) {
        candidates.add(i);
      }
    }
    // Read k fragments at once; each one that fails is replaced by the next candidate.
    byte[][] work = blocks.readAnyK(candidates, first, end, options.executor(), this::markFailed);
    boolean[] present = new boolean[n];
    for (int i = 0; i < n; i++) {
      present[i] = work[i] != null;
    }
    int length = blocks.byteLength(first, end);
    work[wanted] = new byte[length];
    codec.reconstruct(work, present, 0, length);
    blocks.verify(wanted, first, end, work[wanted]);
    return work[wanted];
  }

  private void markFailed(IOException e, int index) {
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
    ByteArrayOutputStream out = new ByteArrayOutputStream(length);
    read(packOffset, length, out);
    return out.toByteArray();
  }
}
