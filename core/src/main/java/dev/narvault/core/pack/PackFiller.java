package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fills a {@link RangeFile} with a byte range of a pack, reading every data fragment the range
 * spans at once. Each fragment is a lane of pieces ({@link FillPlan}) read in block order, a few
 * in flight per holder so that no round trip between pieces leaves its link idle (the first piece
 * alone: the range's first bytes do not share the link), and each piece goes into the file as
 * soon as it is verified, in whatever order pieces arrive. The file is the reorder buffer: memory
 * holds only the pieces in flight whatever the range's size, while a reader of the file streams
 * its completed prefix.
 *
 * <p>A fragment that fails (unreachable, short, a block that does not match its hash, or slower
 * than 2 s and a few times what its holder's speed and load explain) has its pieces decoded
 * instead, one stripe at a time, on decoders that run beside the lanes: the same blocks of k
 * other fragments, taken first from the range's own pieces already in the file (read back, not
 * asked of their holders again), then from the fastest other holders; decoded blocks are
 * verified against the manifest too. So with m data fragments lost, a range that fills its pack
 * costs about one holder byte per byte. No unverified byte is ever written.
 *
 * <p>A filler is meant for one range. Its executor must run tasks concurrently (virtual threads):
 * lanes and decoders wait for each other.
 */
public final class PackFiller {
  private static final Logger LOG = LoggerFactory.getLogger(PackFiller.class);
  public static final int DEFAULT_CHUNK_BLOCKS = 4;
  public static final int DEFAULT_DEPTH = 2;
  /**
   * A piece is read around when it takes this many times what its holder's recent speed and the
   * reads sharing it say (and at least hedgeAfter).
   */
  private static final double HEDGE_FACTOR = 4;

  private final Manifest manifest;
  private final PackLayout layout;
  private final Codec codec;
  private final FragmentReader fragments;
  private final BlockVerifier blocks;
  private final Options options;
  /** Fragments that failed in this fill: not asked again. */
  private final BitSet failed = new BitSet();
  /** Fragments read around for being slow or failing lately: asked only when no other will do. */
  private final BitSet avoided = new BitSet();
  private final BitSet corrupt = new BitSet();
  private final AtomicLong holderBytes = new AtomicLong();

  /**
   * How a filler works.
   *
   * @param chunkBlocks blocks per piece, at most, for a range over 6 fragments or more; twice that
   *     for 3 to 5, four times for 1 or 2 (memory in flight stays about the same)
   * @param depth pieces in flight per fragment: 2 hides the round trip between pieces; more only
   *     share the holder's link
   * @param executor runs lanes, decoders and their reads: must run tasks concurrently
   * @param hedgeAfter how long a piece is waited for before it is read around, or longer: up to
   *     {@value #HEDGE_FACTOR} times the piece's expected time, its holder's other reads counted.
   *     Decoding asks one more source when the k asked take longer than the same
   * @param budget memory for pieces in flight, shared with other reads
   * @param decodeBudget memory for decode steps (k inputs each), shared with other reads
   * @param spread beyond k links: when the range covers every data fragment and every holder
   *     seems up, each stripe is read from a different k of the n fragments (parity included, in
   *     turn), the data pieces left out decoded, so that all n links are busy, not k
   */
  public record Options(int chunkBlocks, int depth, Executor executor, Duration hedgeAfter, ReadBudget budget,
      ReadBudget decodeBudget, boolean spread) {
    public Options {
      if (chunkBlocks < 1 || depth < 1) {
        throw new IllegalArgumentException("chunkBlocks and depth must be >= 1, got " + chunkBlocks + ", " + depth);
      }
      if (hedgeAfter.isNegative()) {
        throw new IllegalArgumentException("hedgeAfter must be >= 0, got " + hedgeAfter);
      }
    }

    public static Options of(Executor executor) {
      return new Options(DEFAULT_CHUNK_BLOCKS, DEFAULT_DEPTH, executor, Duration.ofSeconds(2), ReadBudget.unlimited(),
          ReadBudget.unlimited(), false);
    }

    public Options withChunkBlocks(int blocks) {
      return new Options(blocks, depth, executor, hedgeAfter, budget, decodeBudget, spread);
    }

    public Options withHedgeAfter(Duration hedge) {
      return new Options(chunkBlocks, depth, executor, hedge, budget, decodeBudget, spread);
    }

    public Options withBudgets(ReadBudget pieces, ReadBudget decoding) {
      return new Options(chunkBlocks, depth, executor, hedgeAfter, pieces, decoding, spread);
    }

    public Options withSpread(boolean spreadOverAllFragments) {
      return new Options(chunkBlocks, depth, executor, hedgeAfter, budget, decodeBudget, spreadOverAllFragments);
    }
  }

  public PackFiller(Manifest manifest, Codec codec, FragmentReader fragments, Options options) {
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
    });
    this.options = options;
  }

  /** Fragments read around so far (unreachable, corrupt, too slow or failing lately), by index. */
  public synchronized BitSet failedFragments() {
    BitSet all = (BitSet) failed.clone();
    all.or(avoided);
    return all;
  }

  /** Fragments that sent bytes not matching the manifest, by index. */
  public synchronized BitSet corruptFragments() {
    return (BitSet) corrupt.clone();
  }

  /** Bytes received from holders so far, verified or not: what this filler cost them. */
  public long bytesFromHolders() {
    return holderBytes.get();
  }

  /**
   * Writes pack bytes {@code [packOffset, packOffset + length)} into {@code file} (position 0 is
   * {@code packOffset}), every byte verified, each once; returns when all are written.
   *
   * @throws IOException when some stripe cannot be read from any k fragments, or {@code file}
   *     failed; what was written by then is verified, but the range is not whole
   */
  public void fill(long packOffset, long length, RangeFile file) throws IOException {
    // A range in few fragments reads bigger pieces (fewer requests for the same bytes in flight).
    int lanes = ReadPlanner.plan(layout, packOffset, length).size();
    int pieceBlocks = options.chunkBlocks() * (lanes <= 2 ? 4 : lanes <= 5 ? 2 : 1);
    new Run(FillPlan.of(layout, packOffset, length, pieceBlocks), file).run();
  }

  /** A piece and what became of it. */
  private static final class Slot {
    final FillPlan.Piece piece;
    /** Taken by whoever writes the piece: its lane, or a decoder. */
    final AtomicBoolean claimed = new AtomicBoolean();
    /** True once its bytes are in the file from its own holder; false once it was handed to decoding. */
    final CompletableFuture<Boolean> direct = new CompletableFuture<>();
    /** The direct read in flight, cancelled when a decoder wrote the piece first. */
    volatile Future<?> reading;

    Slot(FillPlan.Piece piece) {
      this.piece = piece;
    }
  }

  /** One fragment's pieces, read in order by {@code depth} workers. */
  private static final class Lane {
    final int fragment;
    final ConcurrentLinkedQueue<Slot> todo;
    volatile boolean failed;

    Lane(int fragment, List<Slot> slots) {
      this.fragment = fragment;
      this.todo = new ConcurrentLinkedQueue<>(slots);
    }
  }

  /** The state of one {@link #fill}. */
  private final class Run {
    private final RangeFile file;
    private final List<Lane> lanes = new ArrayList<>();
    /** Each slot by fragment and stripe. */
    private final ConcurrentHashMap<Long, Slot> slots = new ConcurrentHashMap<>();
    private final int depth;
    private final Set<Future<?>> tasks = ConcurrentHashMap.newKeySet();
    private final Object lock = new Object();
    /** Pieces not written yet; guarded by lock. */
    private int remaining;
    /** Why the fill failed; guarded by lock. */
    private Throwable fatal;
    /** Writes to the file under way; guarded by lock. */
    private int writing;
    /** Set when the fill ends: no write starts after it; guarded by lock. */
    private boolean stopping;
    /** Pieces to decode, by stripe; guarded by lock. */
    private final TreeMap<Integer, List<Slot>> toDecode = new TreeMap<>();
    /** Stripes a decoder is working on (one decoder per stripe at a time); guarded by lock. */
    private final Set<Integer> decoding = new java.util.HashSet<>();
    private boolean decodersStarted;
    /** Decoders run at once: a few more when stripes are spread, so parity links stay busy too. */
    private int decoders;
    /** The parity fragments each spread stripe is read from, by stripe. */
    private final ConcurrentHashMap<Integer, List<Integer>> spreadParity = new ConcurrentHashMap<>();

    Run(FillPlan plan, RangeFile file) {
      this.file = file;
      for (List<FillPlan.Piece> pieces : plan.lanes()) {
        List<Slot> laneSlots = new ArrayList<>();
        for (FillPlan.Piece p : pieces) {
          Slot s = new Slot(p);
          laneSlots.add(s);
          slots.put(key(p.fragment(), p.stripe()), s);
        }
        lanes.add(new Lane(pieces.getFirst().fragment(), laneSlots));
      }
      this.remaining = plan.pieceCount();
      this.depth = options.depth();
      this.decoders = depth + 1;
    }

    void run() throws IOException {
      try {
        if (options.spread()) {
          spread();
        }
        for (Lane lane : lanes) {
          if (!fragments.likelyAvailable(lane.fragment)) {
            avoid(lane.fragment, "its holders failed recently");
            failLane(lane);
          } else {
            spawn(() -> work(lane, true));
          }
        }
        synchronized (lock) {
          while (remaining > 0 && fatal == null) {
            lock.wait();
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while filling a range");
      } finally {
        stopWriting();
        tasks.forEach(t -> t.cancel(true));
      }
      Throwable why;
      synchronized (lock) {
        why = fatal;
      }
      if (why instanceof IOException io) {
        throw io;
      }
      if (why != null) {
        throw new IOException("filling a range failed: " + why, why);
      }
    }

    /**
     * Beyond k links: when the range covers every data fragment and every holder seems up, takes
     * about {@code k·m/n} data pieces out of each stripe (other ones each time) to be decoded from
     * as many parity pieces (other parity fragments each time) and the stripe's other pieces, so
     * each of the n holders serves about k/n of the stripes instead of the k data holders serving
     * all of them. The first two stripes are read
     * straight (the first bytes do not wait for a decode), and so is any stripe not whole in the
     * range.
     */
    private void spread() {
      int k = layout.dataFragmentCount();
      int n = layout.totalFragmentCount();
      if (lanes.size() != k) {
        return;
      }
      for (int i = 0; i < n; i++) {
        if (!fragments.likelyAvailable(i)) {
          return;
        }
      }
      int m = n - k;
      int rest = (int) Math.round((double) k * m / n);
      if (rest == 0) {
        return;
      }
      // Each spread stripe has a decode step waiting for its data pieces while its parity pieces
      // come: enough of them that every parity holder has about depth reads in flight.
      decoders = depth * ((n + k - 1) / k) + 1;
      java.util.TreeSet<Integer> stripes = new java.util.TreeSet<>();
      lanes.getFirst().todo.forEach(s -> stripes.add(s.piece.stripe()));
      int skipped = 0;
      int turn = 0;
      for (int stripe : stripes) {
        if (skipped++ < 2) {
          continue;
        }
        List<Slot> whole = new ArrayList<>();
        for (Lane lane : lanes) {
          Slot s = slots.get(key(lane.fragment, stripe));
          if (s != null && s.piece.inside()) {
            whole.add(s);
          }
        }
        if (whole.size() != k) {
          continue;
        }
        List<Integer> parity = new ArrayList<>();
        for (int t = 0; t < rest; t++) {
          parity.add(k + (turn * rest + t) % m);
        }
        spreadParity.put(stripe, List.copyOf(parity));
        for (int t = 0; t < rest; t++) {
          Lane lane = lanes.get((turn * rest + t) % k);
          Slot s = whole.get((turn * rest + t) % k);
          if (lane.todo.remove(s)) {
            s.direct.complete(false);
            decode(s);
          }
        }
        turn++;
      }
    }

    private void spawn(Runnable work) {
      FutureTask<Void> task = new FutureTask<>(() -> {
        try {
          work.run();
        } catch (Throwable t) {
          fail(t);
        }
      }, null) {
        @Override
        protected void done() {
          tasks.remove(this);
        }
      };
      tasks.add(task);
      options.executor().execute(task);
    }

    private void fail(Throwable t) {
      synchronized (lock) {
        if (fatal == null && remaining > 0) {
          fatal = t;
        }
        lock.notifyAll();
      }
    }

    private boolean finished() {
      synchronized (lock) {
        return remaining == 0 || fatal != null;
      }
    }

    /**
     * A lane's worker: its pieces in order until none is left or the fragment failed. The first
     * worker reads the first piece alone, then starts the others.
     */
    private void work(Lane lane, boolean opener) {
      Slot s;
      while (!lane.failed && !finished() && (s = lane.todo.poll()) != null) {
        boolean ok = readDirect(lane, s);
        if (opener) {
          opener = false;
          for (int i = 1; ok && i < depth; i++) {
            spawn(() -> work(lane, false));
          }
        }
        if (!ok) {
          return;
        }
      }
    }

    /** Reads a piece from its own holder; false when the fragment failed (its pieces are then decoded). */
    private boolean readDirect(Lane lane, Slot s) {
      FillPlan.Piece p = s.piece;
      long units;
      try {
        units = options.budget().acquire(blocks.byteLength(p.first(), p.end()));
      } catch (InterruptedIOException e) {
        return false;
      }
      FutureTask<byte[]> read = new FutureTask<>(() -> blocks.read(p.fragment(), p.first(), p.end()));
      s.reading = read;
      boolean hedged = false;
      long hedge = hedgeNanos(p);
      try {
        options.executor().execute(read);
        byte[] bytes;
        try {
          bytes = read.get(hedge, TimeUnit.NANOSECONDS);
        } catch (TimeoutException slow) {
          // Read around it meanwhile; whichever is first writes the piece.
          hedged = true;
          s.direct.complete(false);
          decode(s);
          bytes = read.get();
        }
        if (s.claimed.compareAndSet(false, true)) {
          write(s, bytes, 0);
          s.direct.complete(true);
        }
        return true;
      } catch (CancellationException decodedFirst) {
        // A decoder wrote the piece first: read around for slowness, or its fragment failed.
        avoid(p.fragment(), "slower than its hedge time");
        failLane(lane);
        return false;
      } catch (ExecutionException e) {
        markFailed(e.getCause() instanceof IOException io ? io : new IOException(e.getCause()), p.fragment());
        s.direct.complete(false);
        if (!hedged) {
          decode(s);
        }
        failLane(lane);
        return false;
      } catch (InterruptedException e) {
        read.cancel(true);
        Thread.currentThread().interrupt();
        return false;
      } catch (IOException e) {
        fail(e);
        return false;
      } finally {
        options.budget().release(units);
      }
    }

    /**
     * How long a piece may take before it is read around: the longer of hedgeAfter and
     * {@value #HEDGE_FACTOR} times what its holder's recent speed and the reads sharing it say. A
     * holder that is merely busy (a capped link many reads share) is waited for: reading around
     * it costs k times its bytes elsewhere.
     */
    private long hedgeNanos(FillPlan.Piece p) {
      return Math.max(options.hedgeAfter().toNanos(),
          expectedNanos(p.fragment(), blocks.byteLength(p.first(), p.end())));
    }

    /** {@value #HEDGE_FACTOR} times a read's expected time; -1 when not known. */
    private long expectedNanos(int fragment, int bytes) {
      double millisPerMiB = fragments.expectedCost(fragment);
      if (!(millisPerMiB > 0) || Double.isInfinite(millisPerMiB)) {
        return -1;
      }
      return (long) (HEDGE_FACTOR * millisPerMiB * Math.max(bytes, 64 * 1024) / 1048576.0 * 1e6);
    }

    /** The fragment failed: every piece of it not taken yet is decoded. */
    private void failLane(Lane lane) {
      lane.failed = true;
      Slot s;
      while ((s = lane.todo.poll()) != null) {
        s.direct.complete(false);
        decode(s);
      }
    }

    private void decode(Slot s) {
      synchronized (lock) {
        toDecode.computeIfAbsent(s.piece.stripe(), x -> new ArrayList<>()).add(s);
        if (!decodersStarted) {
          decodersStarted = true;
          for (int i = 0; i < decoders; i++) {
            spawn(this::decoder);
          }
        }
        lock.notifyAll();
      }
    }

    /** A decoder: the lowest stripe with pieces to decode, all of them at once, until the fill ends. */
    private void decoder() {
      while (true) {
        List<Slot> batch;
        int stripe;
        synchronized (lock) {
          Integer next;
          while ((next = nextStripe()) == null && remaining > 0 && fatal == null) {
            try {
              lock.wait();
            } catch (InterruptedException e) {
              return;
            }
          }
          if (remaining == 0 || fatal != null) {
            return;
          }
          stripe = next;
          batch = toDecode.remove(stripe);
          decoding.add(stripe);
        }
        try {
          batch.removeIf(s -> s.claimed.get());
          if (!batch.isEmpty()) {
            decodeStripe(batch);
          }
        } catch (IOException e) {
          if (!Thread.currentThread().isInterrupted() && !finished()) {
            fail(e);
          }
          return;
        } finally {
          synchronized (lock) {
            decoding.remove(stripe);
            lock.notifyAll();
          }
        }
      }
    }

    /** The lowest stripe with pieces to decode that no decoder is working on; under lock. */
    private Integer nextStripe() {
      for (Integer stripe : toDecode.keySet()) {
        if (!decoding.contains(stripe)) {
          return stripe;
        }
      }
      return null;
    }

    /**
     * Decodes pieces of one stripe (of different fragments) from k others: the stripe's pieces of
     * the range that are in the file whole, then other fragments' holders, fastest first.
     */
    private void decodeStripe(List<Slot> batch) throws IOException {
      apart(batch).forEach(this::decode);
      int k = layout.dataFragmentCount();
      int n = layout.totalFragmentCount();
      int stripe = batch.getFirst().piece.stripe();
      int first = batch.stream().mapToInt(s -> s.piece.first()).min().orElseThrow();
      int end = batch.stream().mapToInt(s -> s.piece.end()).max().orElseThrow();
      BitSet wanted = new BitSet();
      batch.forEach(s -> wanted.set(s.piece.fragment()));
      int length = blocks.byteLength(first, end);
      long units = options.decodeBudget().acquire((long) length * (k + wanted.cardinality()));
      try {
        // The range's own pieces in the file first (no holder asked), then the fastest holders,
        // then those that failed lately, then those read around in this fill for being slow.
        ArrayDeque<Integer> candidates = new ArrayDeque<>();
        BitSet inFile = new BitSet();
        List<Integer> available = new ArrayList<>();
        List<Integer> doubtful = new ArrayList<>();
        List<Integer> slow = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          if (isFailed(i)) {
            continue;
          }
          if (wanted.get(i)) {
            // Read around for being slow or failing lately, not lost: its own bytes still count.
            slow.add(i);
            continue;
          }
          Slot member = slots.get(key(i, stripe));
          if (member != null && member.piece.inside() && member.piece.first() <= first && member.piece.end() >= end
              && !isAvoided(i)) {
            inFile.set(i);
            candidates.add(i);
          } else if (isAvoided(i)) {
            slow.add(i);
          } else {
            (fragments.likelyAvailable(i) ? available : doubtful).add(i);
          }
        }
        double[] cost = new double[n];
        for (int i : available) {
          cost[i] = fragments.expectedCost(i);
        }
        // A spread stripe asks its own share of the parity holders first, in turn with the others.
        List<Integer> preferred = spreadParity.getOrDefault(stripe, List.of());
        available.sort(Comparator.<Integer>comparingInt(i -> preferred.contains(i) ? 0 : 1)
            .thenComparingDouble(i -> cost[i]));
        candidates.addAll(available);
        candidates.addAll(doubtful);
        candidates.addAll(slow);
        // Ask one more source only when the k asked take longer than hedgeAfter and than what the
        // slowest of them is expected to take, busy as it is.
        long hedge = options.hedgeAfter().toNanos();
        for (int i : candidates.stream().limit(k).toList()) {
          if (!inFile.get(i)) {
            hedge = Math.max(hedge, expectedNanos(i, length));
          }
        }
        byte[][] work = blocks.readAnyK(candidates, first, end, options.executor(), Duration.ofNanos(hedge),
            (why, index) -> markFailed(why, index),
            index -> inFile.get(index) ? readBack(slots.get(key(index, stripe)), index, first, end)
                : blocks.read(index, first, end));
        // Pieces of this stripe whose fragments failed since the batch was taken come along: the
        // same k sources decode them, not asked again by a later batch.
        for (Lane lane : lanes) {
          int f = lane.fragment;
          Slot other = slots.get(key(f, stripe));
          if (other != null && !wanted.get(f) && work[f] == null && isFailed(f) && !other.claimed.get()
              && other.piece.first() >= first && other.piece.end() <= end) {
            batch.add(other);
            wanted.set(f);
          }
        }
        boolean[] present = new boolean[n];
        for (int i = 0; i < n; i++) {
          present[i] = work[i] != null;
        }
        boolean decode = false;
        for (int w = wanted.nextSetBit(0); w >= 0; w = wanted.nextSetBit(w + 1)) {
          if (work[w] == null) {
            work[w] = new byte[length];
            decode = true;
          }
        }
        if (decode) {
          codec.reconstruct(work, present, 0, length);
        }
        for (Slot s : batch) {
          int w = s.piece.fragment();
          blocks.verify(w, first, end, work[w]);
          if (s.claimed.compareAndSet(false, true)) {
            Future<?> direct = s.reading;
            if (direct != null) {
              direct.cancel(true);
            }
            write(s, work[w], (s.piece.first() - first) * layout.blockSize());
          }
        }
      } finally {
        options.decodeBudget().release(units);
      }
    }

    /**
     * Takes out of {@code batch} the pieces whose blocks lie apart from the others' and returns
     * them, for a step of their own. A step asks k fragments for every block from its pieces'
     * first to their last, and the pieces of a stripe need not hold the same blocks: a range's
     * first and last pieces in a fragment are cut short. Decoded together, the tail of one
     * fragment and the head of the next (blocks 14 and 0 to 11, say) would cost k times the gap
     * between them too (blocks 12 and 13).
     */
    private List<Slot> apart(List<Slot> batch) {
      batch.sort(Comparator.comparingInt((Slot s) -> s.piece.end() - s.piece.first()).reversed());
      int first = batch.getFirst().piece.first();
      int end = batch.getFirst().piece.end();
      List<Slot> later = new ArrayList<>();
      for (Slot s : batch.subList(1, batch.size())) {
        int from = Math.min(first, s.piece.first());
        int to = Math.max(end, s.piece.end());
        if (to - from <= (end - first) + (s.piece.end() - s.piece.first())) {
          first = from;
          end = to;
        } else {
          later.add(s);
        }
      }
      batch.removeAll(later);
      return later;
    }

    /**
     * Blocks {@code [first, end)} of a piece in the file, once its own holder's bytes are there;
     * from the holder when they will not be (the piece is decoded itself), or when its lane has not
     * started it within a piece's hedge time (then the piece is written from those bytes too: a
     * decoder never waits long on a lane that may be waiting on a decoder).
     */
    private byte[] readBack(Slot s, int fragment, int first, int end) throws IOException {
      Lane lane = lanes.stream().filter(l -> l.fragment == fragment).findFirst().orElse(null);
      if (lane != null && !s.direct.isDone()) {
        // Its lane gets to it first as a rule (its holder's link is not shared with a decoder's
        // read); a decoder waits for that only as long as a piece may take.
        try {
          s.direct.get(hedgeNanos(s.piece), TimeUnit.NANOSECONDS);
        } catch (TimeoutException notYet) {
          // Go on below.
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for fragment " + fragment);
        } catch (ExecutionException e) {
          throw new IOException(e.getCause());
        }
      }
      if (lane != null && lane.todo.remove(s)) {
        // Its lane has not started it yet (behind, or waiting on an earlier piece that only a
        // decoder can end): read it here, for the file too, rather than wait.
        FillPlan.Piece p = s.piece;
        byte[] bytes;
        try {
          bytes = blocks.read(fragment, p.first(), p.end());
        } catch (IOException e) {
          s.direct.complete(false);
          decode(s);
          throw e;
        }
        if (s.claimed.compareAndSet(false, true)) {
          write(s, bytes, 0);
        }
        s.direct.complete(true);
        int from = (first - p.first()) * layout.blockSize();
        return java.util.Arrays.copyOfRange(bytes, from, from + blocks.byteLength(first, end));
      }
      boolean there;
      try {
        there = s.direct.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while waiting for fragment " + s.piece.fragment());
      } catch (ExecutionException e) {
        throw new IOException(e.getCause());
      }
      if (!there) {
        return blocks.read(fragment, first, end);
      }
      byte[] bytes = new byte[blocks.byteLength(first, end)];
      file.read(s.piece.rangeOffset() + (long) (first - s.piece.first()) * layout.blockSize(), bytes, 0,
          bytes.length);
      return bytes;
    }

    /** Writes a claimed piece's range bytes, found at {@code blocksAt} of {@code bytes}. */
    private void write(Slot s, byte[] bytes, int blocksAt) throws IOException {
      FillPlan.Piece p = s.piece;
      synchronized (lock) {
        if (stopping) {
          throw new InterruptedIOException("the fill has ended: piece of fragment " + p.fragment() + " not written");
        }
        writing++;
      }
      boolean written = false;
      try {
        file.write(p.rangeOffset(), bytes, blocksAt + p.skip(), p.length());
        written = true;
      } finally {
        synchronized (lock) {
          writing--;
          if (written) {
            remaining--;
          }
          lock.notifyAll();
        }
      }
    }

    /**
     * Once the fill has ended (done or failed): no write starts any more, and those under way
     * finish before tasks are interrupted, so that no task is still writing when the caller
     * fills the rest otherwise, and no interrupt lands in a write (which would close the file's
     * channel for everyone).
     */
    private void stopWriting() {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      boolean interrupted = false;
      synchronized (lock) {
        stopping = true;
        long left;
        while (writing > 0 && (left = deadline - System.nanoTime()) > 0) {
          try {
            TimeUnit.NANOSECONDS.timedWait(lock, left);
          } catch (InterruptedException e) {
            interrupted = true;
          }
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static long key(int fragment, int stripe) {
    return ((long) fragment << 32) | stripe;
  }

  private synchronized boolean isFailed(int index) {
    return failed.get(index);
  }

  private synchronized boolean isAvoided(int index) {
    return avoided.get(index);
  }

  /** Reads around a fragment that is slow or failed lately; it stays a source of last resort. */
  private void avoid(int index, String why) {
    synchronized (this) {
      if (avoided.get(index) || failed.get(index)) {
        return;
      }
      avoided.set(index);
    }
    LOG.debug("fragment {} ({}) {}, reading around it", index, manifest.fragments().get(index).id(), why);
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
      LOG.warn("fragment {} ({}) is corrupt, reading around it: {}", index, manifest.fragments().get(index).id(),
          e.getMessage());
    } else {
      LOG.debug("fragment {} ({}) unavailable, reading around it: {}", index, manifest.fragments().get(index).id(),
          e.getMessage());
    }
  }
}
