package dev.narvault.core.pack;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * Rebuilds whole fragments of a pack from any {@code k} others, in stripes: each step reads the
 * same blocks of {@code k} source fragments at once (every block verified against the manifest),
 * decodes the wanted fragments for that stripe, verifies them too, and writes them out. Memory is
 * {@code (k + wanted) · stripe} whatever the pack size. A source that fails is dropped and
 * replaced by the next one; the caller learns which through {@link #failedSources()}. A source
 * whose bytes do not match in one stripe (a bad block) is replaced for that stripe only: its good
 * blocks still serve later stripes, asked after every source that has not been caught, so a
 * pack with k − 1 clean fragments and one with a rotten block is still rebuilt.
 */
public final class FragmentRebuilder {
  private final Manifest manifest;
  private final PackLayout layout;
  private final Codec codec;
  private final BlockVerifier blocks;
  private final Executor executor;
  private final int stripeBlocks;
  /** A source this slow to answer a stripe gets company: one more source is asked. */
  private static final Duration HEDGE_AFTER = Duration.ofSeconds(5);

  private final BitSet failed = new BitSet();
  /** Failed sources not to ask again: unreachable, refusing, short; not those with a bad block. */
  private final BitSet lost = new BitSet();
  private final Map<Integer, IOException> failures = new HashMap<>();

  /**
   * @param sources reads the fragments that may serve as sources (unverified bytes)
   * @param executor runs the {@code k} reads of a stripe at once
   * @param stripeBytes about how many bytes of each fragment one step handles
   */
  public FragmentRebuilder(Manifest manifest, Codec codec, FragmentReader sources, Executor executor, int stripeBytes) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    if (codec.dataFragmentCount() != layout.dataFragmentCount()
        || codec.parityFragmentCount() != layout.parityFragmentCount()) {
      throw new IllegalArgumentException("codec does not match the manifest's RS(" + layout.dataFragmentCount()
          + "," + layout.parityFragmentCount() + ")");
    }
    if (stripeBytes < 1) {
      throw new IllegalArgumentException("stripeBytes must be >= 1, got " + stripeBytes);
    }
    this.codec = codec;
    this.blocks = new BlockVerifier(manifest, sources);
    this.executor = executor;
    this.stripeBlocks = Math.max(1, stripeBytes / layout.blockSize());
  }

  /** Sources that failed (unreachable, short, or bytes that do not match the manifest), by index. */
  public BitSet failedSources() {
    return (BitSet) failed.clone();
  }

  /**
   * Failed sources that are not asked again: every failed source but those whose failure was
   * bytes that did not match (their other blocks may still serve).
   */
  public BitSet lostSources() {
    return (BitSet) lost.clone();
  }

  /** Why a failed source failed. */
  public IOException failure(int index) {
    return failures.get(index);
  }

  /**
   * Rebuilds fragments {@code wanted} (indexes) into {@code outputs} (same order, not closed),
   * reading only from {@code usable} indexes. A wanted fragment may also be usable (a copy on a
   * holder that is leaving): when it is among the k read, its verified bytes are copied.
   *
   * @throws NotEnoughFragmentsException when fewer than k usable sources answer for some stripe
   */
  public void rebuild(List<Integer> wanted, BitSet usable, List<? extends OutputStream> outputs) throws IOException {
    if (wanted.size() != outputs.size() || wanted.isEmpty()) {
      throw new IllegalArgumentException("need one output per wanted fragment, got " + wanted.size() + " / "
          + outputs.size());
    }
    int n = layout.totalFragmentCount();
    for (int first = 0; first < layout.blockCount(); first += stripeBlocks) {
      int end = Math.min(layout.blockCount(), first + stripeBlocks);
      byte[][] work = readSources(usable, first, end);
      int length = blocks.byteLength(first, end);
      boolean[] present = new boolean[n];
      for (int i = 0; i < n; i++) {
        present[i] = work[i] != null;
      }
      for (int w : wanted) {
        if (work[w] == null) {
          work[w] = new byte[length];
        }
      }
      codec.reconstruct(work, present, 0, length);
      for (int i = 0; i < wanted.size(); i++) {
        int w = wanted.get(i);
        blocks.verify(w, first, end, work[w]);
        outputs.get(i).write(work[w], 0, length);
      }
    }
  }

  /**
   * Copies fragments {@code wanted} from their own readable copies into {@code outputs}: one read
   * per fragment, not k, every block verified against the manifest. Moving a readable fragment
   * (off a leaving holder, out of a crowded domain) costs one fragment of traffic this way.
   *
   * @throws FragmentCorruptException when a copy's bytes do not match (recorded in
   *     {@link #failedSources()}); the caller falls back to {@link #rebuild}
   */
  public void copy(List<Integer> wanted, List<? extends OutputStream> outputs) throws IOException {
    if (wanted.size() != outputs.size() || wanted.isEmpty()) {
      throw new IllegalArgumentException("need one output per wanted fragment, got " + wanted.size() + " / "
          + outputs.size());
    }
    for (int i = 0; i < wanted.size(); i++) {
      int w = wanted.get(i);
      for (int first = 0; first < layout.blockCount(); first += stripeBlocks) {
        int end = Math.min(layout.blockCount(), first + stripeBlocks);
        byte[] bytes;
        try {
          bytes = blocks.read(w, first, end);
        } catch (IOException e) {
          fail(w, e);
          throw e;
        }
        outputs.get(i).write(bytes, 0, blocks.byteLength(first, end));
      }
    }
  }

  /** Verified bytes of blocks {@code [first, end)} from exactly k usable sources; null elsewhere. */
  private byte[][] readSources(BitSet usable, int first, int end) throws IOException {
    int n = layout.totalFragmentCount();
    ArrayDeque<Integer> candidates = new ArrayDeque<>();
    // Sources never caught first, then those caught with a bad block elsewhere (their other
    // blocks are verified like any); lost ones not at all.
    for (int round = 0; round < 2; round++) {
      for (int i = usable.nextSetBit(0); i >= 0 && i < n; i = usable.nextSetBit(i + 1)) {
        if (!lost.get(i) && failed.get(i) == (round == 1)) {
          candidates.add(i);
        }
      }
    }
    return blocks.readAnyK(candidates, first, end, executor, HEDGE_AFTER, (why, index) -> fail(index, why));
  }

  private void fail(int index, IOException why) {
    failed.set(index);
    // A bad block, once seen, is what the caller hears: that copy no longer counts.
    if (!(failures.get(index) instanceof FragmentCorruptException)) {
      failures.put(index, why);
    }
    if (!(why instanceof FragmentCorruptException)) {
      lost.set(index);
    }
  }

}
