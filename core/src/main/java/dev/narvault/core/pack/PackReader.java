package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a byte range of a pack, verified block by block. The range is cut into chunks of at most
 * {@code chunkBlocks} blocks of one fragment; up to {@code window} chunks are read at once (so
 * several holders, and several ranges of one holder, are busy together) and written out in order
 * as each verifies. Data fragments are read directly; when one fails (unreachable, short, a block
 * that does not match its hash, or slower than {@code hedgeAfter}) the same blocks are read from
 * any {@code k} other fragments, each verified, and the missing ones decoded for just that range.
 * No unverified byte is ever written, and memory is bounded by the window and a shared
 * {@link ReadBudget}.
 *
 * <p>A reader remembers which fragments failed, so it does not retry a bad holder for every chunk.
 * It is meant for one request; its chunks run on the executor, its {@code read} on one thread.
 */
public final class PackReader {
  private static final Logger LOG = LoggerFactory.getLogger(PackReader.class);
  public static final int DEFAULT_CHUNK_BLOCKS = 16;
  public static final int DEFAULT_WINDOW = 8;
  /** A decode reads k fragments at once: each of its steps holds about this many chunks' worth. */
  private static final int DECODE_CHUNKS = 4;

  private final Manifest manifest;
  private final PackLayout layout;
  private final Codec codec;
  private final FragmentReader fragments;
  private final BlockVerifier blocks;
  private final Options options;
  private final BitSet failed = new BitSet();
  private final BitSet corrupt = new BitSet();
  private final AtomicLong holderBytes = new AtomicLong();
  /** The first read of each fragment, which later chunks of it wait for. */
  private final ConcurrentHashMap<Integer, CompletableFuture<Void>> probes = new ConcurrentHashMap<>();

  /**
   * How a reader works.
   *
   * @param chunkBlocks blocks per chunk: the unit of reading, verifying and writing
   * @param window chunks read ahead at once (1: one after another)
   * @param executor runs chunk reads, the k reads of a degraded range and hedges (a
   *     virtual-thread executor for network holders); {@code Runnable::run} reads one after another
   *     and never hedges
   * @param hedgeAfter a read still unanswered after this long is read around (decoding, or one
   *     more fragment when decoding) while it goes on; whichever finishes first wins
   * @param budget memory for chunks, shared with other reads; a chunk read ahead waits for none
   * @param decodeBudget memory for decode steps (k inputs each), shared with other reads
   */
  public record Options(int chunkBlocks, int window, Executor executor, Duration hedgeAfter, ReadBudget budget,
      ReadBudget decodeBudget) {
    public static final Options DEFAULTS = new Options(DEFAULT_CHUNK_BLOCKS, DEFAULT_WINDOW, Runnable::run,
        Duration.ofSeconds(2), ReadBudget.unlimited(), ReadBudget.unlimited());

    public Options {
      if (chunkBlocks < 1 || window < 1) {
        throw new IllegalArgumentException("chunkBlocks and window must be >= 1, got " + chunkBlocks + ", " + window);
      }
      if (hedgeAfter.isNegative()) {
        throw new IllegalArgumentException("hedgeAfter must be >= 0, got " + hedgeAfter);
      }
    }

    public Options withChunkBlocks(int blocks) {
      return new Options(blocks, window, executor, hedgeAfter, budget, decodeBudget);
    }

    public Options withWindow(int chunks) {
      return new Options(chunkBlocks, chunks, executor, hedgeAfter, budget, decodeBudget);
    }

    public Options withExecutor(Executor e, Duration hedge) {
      return new Options(chunkBlocks, window, e, hedge, budget, decodeBudget);
    }

    public Options withBudgets(ReadBudget chunks, ReadBudget decoding) {
      return new Options(chunkBlocks, window, executor, hedgeAfter, chunks, decoding);
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
    this.fragments = fragments;
    this.blocks = new BlockVerifier(manifest, new FragmentReader() {
      @Override
      public byte[] read(int index, long offset, int length) throws IOException {
        byte[] bytes = fragments.read(index, offset, length);
        holderBytes.addAndGet(bytes.length);
        return bytes;
      }

      @Override
      public boolean likelyAvailable(int index) {
        return fragments.likelyAvailable(index);
      }

      @Override
      public double expectedCost(int index) {
        return fragments.expectedCost(index);
      }
    });
    this.options = options;
  }

  public PackReader(Manifest manifest, Codec codec, FragmentReader fragments) {
    this(manifest, codec, fragments, Options.DEFAULTS);
  }

  /** Fragments that failed so far (unreachable, corrupt or too slow), by index. */
  public synchronized BitSet failedFragments() {
    return (BitSet) failed.clone();
  }

  /** Fragments that sent bytes not matching the manifest, by index. */
  public synchronized BitSet corruptFragments() {
    return (BitSet) corrupt.clone();
  }

  /** Bytes received from holders so far, verified or not: what this reader cost them. */
  public long bytesFromHolders() {
    return holderBytes.get();
  }

  /** A run of blocks of one fragment and the part of it that is wanted. */
  private record Chunk(int fragment, int first, int end, int skip, int length) {}

  /** A chunk being read and the budget it holds. */
  private record Pending(Chunk chunk, FutureTask<byte[]> task, long units) {}

  /** Writes pack bytes {@code [packOffset, packOffset + length)} to {@code out}, verified. */
  public void read(long packOffset, long length, OutputStream out) throws IOException {
    List<Chunk> chunks = chunks(packOffset, length);
    ArrayDeque<Pending> window = new ArrayDeque<>();
    int next = 0;
    try {
      while (next < chunks.size() || !window.isEmpty()) {
        while (next < chunks.size() && window.size() < options.window()) {
          Chunk c = chunks.get(next);
          long cost = cost(c);
          long units = window.isEmpty() ? options.budget().acquire(cost) : options.budget().tryAcquire(cost);
          if (units == 0) {
            break;
          }
          FutureTask<byte[]> task = new FutureTask<>(() -> readBlocks(c.fragment(), c.first(), c.end()));
          window.add(new Pending(c, task, units));
          next++;
          options.executor().execute(task);
        }
        Pending head = window.peek();
        byte[] bytes = await(head.task(), head.chunk().fragment());
        out.write(bytes, head.chunk().skip(), head.chunk().length());
        window.poll();
        options.budget().release(head.units());
      }
    } finally {
      for (Pending p : window) {
        p.task().cancel(true);
        options.budget().release(p.units());
      }
    }
  }

  private List<Chunk> chunks(long packOffset, long length) {
    List<Chunk> chunks = new ArrayList<>();
    for (FragmentRange range : ReadPlanner.plan(layout, packOffset, length)) {
      int first = ReadPlanner.firstBlock(layout, range);
      int end = ReadPlanner.endBlock(layout, range);
      for (int block = first; block < end; block += options.chunkBlocks()) {
        int chunkEnd = Math.min(end, block + options.chunkBlocks());
        long chunkStart = (long) block * layout.blockSize();
        long from = Math.max(range.fragmentOffset(), chunkStart);
        long to = Math.min(range.fragmentOffset() + range.length(), chunkStart + blocks.byteLength(block, chunkEnd));
        chunks.add(new Chunk(range.fragmentIndex(), block, chunkEnd, (int) (from - chunkStart), (int) (to - from)));
      }
    }
    return chunks;
  }

  /** Memory a chunk holds while read (decoding is charged to the decode budget, step by step). */
  private long cost(Chunk c) {
    return blocks.byteLength(c.first(), c.end());
  }

  private static byte[] await(FutureTask<byte[]> task, int index) throws IOException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading fragment " + index);
    }
  }

  /**
   * Verified bytes of blocks {@code [first, end)} of fragment {@code index}. The first chunk read
   * from a fragment is a probe: chunks of the same fragment read ahead wait for its outcome (at
   * most the hedge time) before asking that holder too, so a dead or slow holder is asked once per
   * read, not once per chunk in the window.
   */
  private byte[] readBlocks(int index, int first, int end) throws IOException {
    if (isFailed(index)) {
      return decode(index, first, end);
    }
    if (!fragments.likelyAvailable(index)) {
      markFailed(new IOException("its holders failed recently"), index);
      return decode(index, first, end);
    }
    CompletableFuture<Void> mine = new CompletableFuture<>();
    CompletableFuture<Void> probe = probes.putIfAbsent(index, mine);
    if (probe != null) {
      if (!probe.isDone()) {
        try {
          probe.get(options.hedgeAfter().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException slow) {
          return decode(index, first, end);
        } catch (ExecutionException e) {
          throw new IllegalStateException(e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while reading fragment " + index);
        }
      }
      if (isFailed(index)) {
        return decode(index, first, end);
      }
    }
    try {
      return readDirect(index, first, end);
    } finally {
      mine.complete(null);
    }
  }

  private byte[] readDirect(int index, int first, int end) throws IOException {
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
    } finally {
      direct.cancel(true);
    }
  }

  private static IOException asIo(ExecutionException e) {
    return e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
  }

  /**
   * Decodes blocks {@code [first, end)} of fragment {@code wanted} from k others, in steps small
   * enough that a step's k inputs hold about {@value #DECODE_CHUNKS} chunks of memory.
   */
  private byte[] decode(int wanted, int first, int end) throws IOException {
    int k = layout.dataFragmentCount();
    int step = Math.max(1, options.chunkBlocks() * DECODE_CHUNKS / k);
    byte[] out = new byte[blocks.byteLength(first, end)];
    int at = 0;
    for (int b = first; b < end; b += step) {
      int stepEnd = Math.min(end, b + step);
      byte[] part = decodeStep(wanted, b, stepEnd);
      System.arraycopy(part, 0, out, at, part.length);
      at += part.length;
    }
    return out;
  }

  /**
   * One decode step: k verified inputs and the output, held under the decode budget. A step never
   * waits for anything else while holding it, so steps cannot deadlock each other, and chunks
   * (which wait for steps) hold only the chunk budget.
   */
  private byte[] decodeStep(int wanted, int first, int end) throws IOException {
    long units = options.decodeBudget().acquire(
        (long) blocks.byteLength(first, end) * (layout.dataFragmentCount() + 2));
    try {
      return decodeStepWithin(wanted, first, end);
    } finally {
      options.decodeBudget().release(units);
    }
  }

  private byte[] decodeStepWithin(int wanted, int first, int end) throws IOException {
    int n = layout.totalFragmentCount();
    List<Integer> available = new ArrayList<>();
    List<Integer> doubtful = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (i != wanted && !isFailed(i)) {
        (fragments.likelyAvailable(i) ? available : doubtful).add(i);
      }
    }
    // The fastest holders first (stable: in index order among equals); fragments whose holders
    // failed lately last, if at all.
    double[] cost = new double[n];
    for (int i : available) {
      cost[i] = fragments.expectedCost(i);
    }
    available.sort(Comparator.comparingDouble(i -> cost[i]));
    ArrayDeque<Integer> candidates = new ArrayDeque<>(available);
    candidates.addAll(doubtful);
    // Read k fragments at once; each one that fails is replaced by the next candidate.
    byte[][] work = blocks.readAnyK(candidates, first, end, options.executor(), options.hedgeAfter(),
        this::markFailed);
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

  private synchronized boolean isFailed(int index) {
    return failed.get(index);
  }

  private void markFailed(IOException e, int index) {
    synchronized (this) {
      if (failed.get(index)) {
        return;
      }
      failed.set(index);
      if (e instanceof FragmentCorruptException) {
        corrupt.set(index);
      }
    }
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
