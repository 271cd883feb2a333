package dev.narvault.core.pack;

import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.ObjIntConsumer;

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

  /**
   * Verified bytes of blocks {@code [first, end)} from exactly k of the {@code candidates}, read at
   * once on {@code executor}; a candidate that fails is reported to {@code onFailure} and replaced
   * by the next one. When the k reads are not all in after {@code hedgeAfter}, one more candidate
   * is asked, and again each time that passes (when none is left, a slow one's holder is asked
   * again, once, straight: {@link #read}); once k have answered, reads still going are cancelled. The answer has the bytes at the index of each fragment read, null elsewhere.
   *
   * @throws NotEnoughFragmentsException when the candidates run out before k answered
   */
  byte[][] readAnyK(ArrayDeque<Integer> candidates, int first, int end, Executor executor, Duration hedgeAfter,
      ObjIntConsumer<IOException> onFailure) throws IOException {
    return readAnyK(candidates, first, end, executor, hedgeAfter, onFailure, index -> read(index, first, end));
  }

  /** Where {@link #readAnyK} gets a candidate's verified bytes. */
  @FunctionalInterface
  interface Source {
    byte[] read(int index) throws IOException;
  }

  /** As above, each candidate's verified bytes got from {@code source}. */
  byte[][] readAnyK(ArrayDeque<Integer> candidates, int first, int end, Executor executor, Duration hedgeAfter,
      ObjIntConsumer<IOException> onFailure, Source source) throws IOException {
    int k = layout.dataFragmentCount();
    byte[][] work = new byte[layout.totalFragmentCount()][];
    ExecutorCompletionService<byte[]> reads = new ExecutorCompletionService<>(executor);
    Map<Future<byte[]>, Integer> inFlight = new HashMap<>();
    java.util.BitSet askedAgain = new java.util.BitSet();
    int have = 0;
    int hedges = 0;
    try {
      while (have < k) {
        while (have + distinct(inFlight) < k + hedges && !candidates.isEmpty()) {
          int index = candidates.poll();
          inFlight.put(reads.submit(() -> source.read(index)), index);
        }
        if (inFlight.isEmpty()) {
          break;
        }
        Future<byte[]> done = reads.poll(hedgeAfter.toNanos(), TimeUnit.NANOSECONDS);
        if (done == null) {
          // Someone is slow: ask one more, whoever answers first counts. With no one left to ask,
          // ask a slow one's holder again (once): a read that hangs must not hang the whole read.
          if (!candidates.isEmpty()) {
            hedges++;
          } else {
            inFlight.values().stream().filter(i -> !askedAgain.get(i)).findFirst().ifPresent(index -> {
              askedAgain.set(index);
              inFlight.put(reads.submit(() -> read(index, first, end)), index);
            });
          }
          continue;
        }
        int index = inFlight.remove(done);
        try {
          byte[] bytes = done.get();
          if (work[index] == null) {
            work[index] = bytes;
            have++;
          }
          // The same fragment asked again is not needed any more.
          inFlight.entrySet().removeIf(e -> {
            if (e.getValue() == index) {
              e.getKey().cancel(true);
              return true;
            }
            return false;
          });
        } catch (ExecutionException e) {
          if (!inFlight.containsValue(index)) {
            onFailure.accept(e.getCause() instanceof IOException io ? io : new IOException(e.getCause()), index);
            hedges = Math.max(0, hedges - 1);
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading fragments");
    } finally {
      inFlight.keySet().forEach(f -> f.cancel(true));
    }
    if (have < k) {
      throw new NotEnoughFragmentsException("pack " + ManifestCodec.packId(manifest).shortForm() + ": only "
          + have + " of " + layout.totalFragmentCount() + " fragments readable for blocks " + first + ".." + end
          + ", " + k + " needed");
    }
    return work;
  }

  private static int distinct(Map<Future<byte[]>, Integer> inFlight) {
    return (int) inFlight.values().stream().distinct().count();
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
