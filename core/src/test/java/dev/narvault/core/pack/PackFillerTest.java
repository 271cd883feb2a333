package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The filler against fragments in memory: every fragment a range spans read at once, lost ones
 * decoded from what is already in the file, and never a byte written that is not the pack's.
 */
@Timeout(120)
class PackFillerTest {
  private static final int BLOCK = 128;
  private final Codec codec = new BackblazeCodec(4, 2);
  /** One object that fills the pack (fragments of 16 blocks), then a pack of several. */
  private final PackFixtures.Encoded big = PackFixtures.encode(codec, new int[] {4 * 16 * BLOCK - 5}, BLOCK, 3);
  private final PackFixtures.Encoded several = PackFixtures.encode(codec, new int[] {700, 50, 2500, 3, 1900}, BLOCK,
      7);
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  /** Serves fragments from memory; some down, some lying, some held until released; records every read. */
  private static class Holders implements FragmentReader {
    final PackFixtures.Encoded pack;
    final Set<Integer> down;
    final Set<Integer> lying;
    final List<Integer> reads = Collections.synchronizedList(new ArrayList<>());
    final ConcurrentHashMap<Integer, CountDownLatch> held = new ConcurrentHashMap<>();

    Holders(PackFixtures.Encoded pack, Set<Integer> down, Set<Integer> lying) {
      this.pack = pack;
      this.down = down;
      this.lying = lying;
    }

    @Override
    public byte[] read(int index, long offset, int length) throws IOException {
      reads.add(index);
      try {
        CountDownLatch hold = held.get(index);
        if (hold != null && !hold.await(30, TimeUnit.SECONDS)) {
          throw new IOException("never released");
        }
        if (down.contains(index)) {
          throw new IOException("holder of fragment " + index + " is down");
        }
        byte[] bytes = Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
        if (lying.contains(index)) {
          bytes[bytes.length / 2] ^= 1;
        }
        return bytes;
      } catch (InterruptedException e) {
        throw new InterruptedIOException();
      }
    }
  }

  /**
   * A range in memory that fails the test on any byte that is not the pack's, or written twice;
   * reads back only what was written.
   */
  static final class CheckedFile implements RangeFile {
    final byte[] expected;
    final byte[] bytes;
    final BitSet written = new BitSet();

    CheckedFile(PackFixtures.Encoded pack, long packOffset, int length) {
      this.expected = Arrays.copyOfRange(pack.pack(), (int) packOffset, (int) packOffset + length);
      this.bytes = new byte[length];
    }

    @Override
    public synchronized void write(long position, byte[] from, int offset, int length) {
      for (int i = 0; i < length; i++) {
        int at = (int) position + i;
        if (written.get(at)) {
          throw new AssertionError("byte " + at + " written twice");
        }
        if (from[offset + i] != expected[at]) {
          throw new AssertionError("byte " + at + " written is not the pack's");
        }
        written.set(at);
        bytes[at] = from[offset + i];
      }
    }

    @Override
    public synchronized void read(long position, byte[] into, int offset, int length) {
      int unwritten = written.nextClearBit((int) position);
      if (unwritten < position + length) {
        throw new AssertionError("read back byte " + unwritten + ", never written");
      }
      System.arraycopy(bytes, (int) position, into, offset, length);
    }

    boolean whole() {
      return written.cardinality() == bytes.length;
    }
  }

  private PackFiller filler(PackFixtures.Encoded pack, FragmentReader holders, PackFiller.Options options) {
    return new PackFiller(pack.manifest(), codec, holders, options);
  }

  private PackFiller.Options options() {
    return PackFiller.Options.of(executor);
  }

  @Test
  void fill_readsEveryFragmentTheRangeSpansAtOnce() throws IOException {
    Holders holders = new Holders(big, Set.of(), Set.of());
    // Fragment 0 is held until every other data fragment has been asked: one after another, it never would be.
    CountDownLatch othersAsked = new CountDownLatch(3);
    FragmentReader watching = (index, offset, length) -> {
      if (index > 0 && offset == 0) {
        othersAsked.countDown();
      }
      if (index == 0) {
        try {
          if (!othersAsked.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("fragments 1-3 were not asked while fragment 0 was being read");
          }
        } catch (InterruptedException e) {
          throw new InterruptedIOException();
        }
      }
      return holders.read(index, offset, length);
    };
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, watching, options().withHedgeAfter(Duration.ofSeconds(30)));
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    assertTrue(holders.reads.stream().allMatch(i -> i < 4), "no parity read: " + holders.reads);
    assertEquals(4 * big.layout().fragmentSize(), filler.bytesFromHolders(), "each block read once");
  }

  @Test
  void fill_withDataFragmentsDown_readsAboutOneHolderBytePerByte() throws IOException {
    Holders holders = new Holders(big, Set.of(1, 2), Set.of());
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, holders, options());
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    BitSet lost = new BitSet();
    lost.set(1);
    lost.set(2);
    assertEquals(lost, filler.failedFragments());
    // Fragments 0 and 3 once, for themselves and for decoding (read back from the file), parity
    // 4 and 5 once each: 4 fragments' worth, plus the first tries at 1 and 2.
    long fragment = big.layout().fragmentSize();
    assertTrue(filler.bytesFromHolders() <= 4 * fragment + 2 * 8 * BLOCK,
        filler.bytesFromHolders() + " holder bytes for a pack of " + big.pack().length);
  }

  @Test
  void fill_withUpToMFragmentsDownOrLying_writesExactlyThePacksBytes() throws IOException {
    int[][] patterns = {{0}, {1, 2}, {0, 3}, {3, 5}, {2, 4}, {0, 1}};
    for (PackFixtures.Encoded pack : List.of(big, several)) {
      for (int[] pattern : patterns) {
        for (boolean lie : new boolean[] {false, true}) {
          Set<Integer> bad = Arrays.stream(pattern).boxed().collect(Collectors.toSet());
          Holders holders = lie ? new Holders(pack, Set.of(), bad) : new Holders(pack, bad, Set.of());
          for (Manifest.Nar nar : pack.manifest().nars()) {
            CheckedFile file = new CheckedFile(pack, nar.offset(), (int) nar.length());
            filler(pack, holders, options().withChunkBlocks(3)).fill(nar.offset(), nar.length(), file);
            assertTrue(file.whole(), Arrays.toString(pattern) + " lie=" + lie + " " + nar.key());
          }
        }
      }
    }
  }

  @Test
  void fill_liars_areNamedCorrupt() throws IOException {
    Holders holders = new Holders(big, Set.of(), Set.of(2));
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, holders, options());
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    assertTrue(filler.corruptFragments().get(2));
    assertEquals(1, filler.corruptFragments().cardinality());
  }

  @Test
  void fill_moreThanMDown_throws_havingWrittenOnlyThePacksBytes() {
    Holders holders = new Holders(big, Set.of(0, 1, 4), Set.of());
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    assertThrows(NotEnoughFragmentsException.class,
        () -> filler(big, holders, options()).fill(0, big.pack().length, file));
    assertFalse(file.whole());
  }

  @Test
  void fill_aHolderThatNeverAnswers_isReadAround() throws IOException {
    Holders holders = new Holders(big, Set.of(), Set.of());
    CountDownLatch never = new CountDownLatch(1);
    holders.held.put(2, never);
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, holders, options().withHedgeAfter(Duration.ofMillis(100)));
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    assertTrue(filler.failedFragments().get(2), "the silent holder is dropped for the rest of the range");
  }

  @Test
  void fill_mDown_andAHolderSlowOnce_stillCompletes_readingTheSlowOneAsASourceOfLastResort() throws IOException {
    Holders holders = new Holders(big, Set.of(1, 2), Set.of());
    // Fragment 3's first read (its lane's) never answers, so its pieces are read around: with 1
    // and 2 lost, that takes 0, 4, 5 and 3 itself, which answers every later read.
    java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
    FragmentReader slowOnce = (index, offset, length) -> {
      if (index == 3 && first.getAndSet(false)) {
        try {
          new CountDownLatch(1).await();
        } catch (InterruptedException e) {
          throw new InterruptedIOException("read around");
        }
      }
      return holders.read(index, offset, length);
    };
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, slowOnce, options().withHedgeAfter(Duration.ofMillis(50)));
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    assertTrue(holders.reads.stream().filter(i -> i == 3).count() > 1, "fragment 3 read again: " + holders.reads);
  }

  @Test
  @Timeout(60)
  void spread_allHoldersUp_readsParityForSomeStripes_andWritesExactlyThePacksBytes() throws IOException {
    Holders holders = new Holders(big, Set.of(), Set.of());
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    // Pieces of 2 blocks: 8 stripes, the first two read straight, the rest spread over all 6.
    PackFiller filler = filler(big, holders, options().withChunkBlocks(1).withSpread(true));
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    Set<Integer> asked = Set.copyOf(holders.reads);
    assertTrue(asked.contains(4) && asked.contains(5), "parity holders read: " + holders.reads);
    assertTrue(filler.failedFragments().isEmpty(), "nothing read around: " + filler.failedFragments());
    // Each stripe from k of the n: about one holder byte per pack byte, never the decode's k per piece.
    long fragment = big.layout().fragmentSize();
    assertTrue(filler.bytesFromHolders() <= 4 * fragment + 4 * 2 * BLOCK,
        filler.bytesFromHolders() + " holder bytes for a pack of " + big.pack().length);
  }

  @Test
  @Timeout(60)
  void spread_aHolderKnownDown_readsTheDataFragmentsOnly() throws IOException {
    Holders holders = new Holders(big, Set.of(5), Set.of());
    FragmentReader knowing = new FragmentReader() {
      @Override
      public byte[] read(int index, long offset, int length) throws IOException {
        return holders.read(index, offset, length);
      }

      @Override
      public boolean likelyAvailable(int index) {
        return index != 5;
      }
    };
    CheckedFile file = new CheckedFile(big, 0, big.pack().length);
    PackFiller filler = filler(big, knowing, options().withChunkBlocks(1).withSpread(true));
    filler.fill(0, big.pack().length, file);
    assertTrue(file.whole());
    assertTrue(holders.reads.stream().allMatch(i -> i < 4), "no parity read: " + holders.reads);
    assertEquals(4 * big.layout().fragmentSize(), filler.bytesFromHolders(), "each block read once");
  }

  @Test
  @Timeout(60)
  void spread_holdersThatFailOrLieUnannounced_stillWritesExactlyThePacksBytes() throws IOException {
    int[][] patterns = {{4}, {5}, {4, 5}, {0, 4}, {1, 2}, {3}};
    for (int[] pattern : patterns) {
      for (boolean lie : new boolean[] {false, true}) {
        Set<Integer> bad = Arrays.stream(pattern).boxed().collect(Collectors.toSet());
        Holders holders = lie ? new Holders(big, Set.of(), bad) : new Holders(big, bad, Set.of());
        CheckedFile file = new CheckedFile(big, 0, big.pack().length);
        filler(big, holders, options().withChunkBlocks(1).withSpread(true)).fill(0, big.pack().length, file);
        assertTrue(file.whole(), Arrays.toString(pattern) + " lie=" + lie);
      }
    }
  }

  @Test
  void fill_aRangeInsideOneFragment_readsOnlyThatFragment() throws IOException {
    Manifest.Nar small = several.manifest().nars().get(1);
    Holders holders = new Holders(several, Set.of(), Set.of());
    CheckedFile file = new CheckedFile(several, small.offset(), (int) small.length());
    filler(several, holders, options()).fill(small.offset(), small.length(), file);
    assertTrue(file.whole());
    assertEquals(1, Set.copyOf(holders.reads).size(), "one fragment: " + holders.reads);
  }

  @Test
  void plan_coversTheRangeOnce_withASmallFirstPiece_onOneGridForAllFragments() {
    PackLayout layout = big.layout();
    for (long offset : new long[] {0, 1, 300, 2000}) {
      long length = layout.packLength() - offset - 7;
      FillPlan plan = FillPlan.of(layout, offset, length, 4);
      BitSet covered = new BitSet();
      for (List<FillPlan.Piece> lane : plan.lanes()) {
        for (FillPlan.Piece p : lane) {
          assertTrue(p.end() - p.first() <= 4 && p.length() > 0, p.toString());
          for (long b = p.rangeOffset(); b < p.rangeOffset() + p.length(); b++) {
            assertFalse(covered.get((int) b), "byte " + b + " twice");
            covered.set((int) b);
          }
        }
      }
      assertEquals(length, covered.cardinality());
      FillPlan.Piece first = plan.lanes().getFirst().getFirst();
      assertEquals(0, first.rangeOffset());
      assertEquals(1, first.end() - first.first(), "the range's first bytes come in a piece of one block");
      // Pieces at the same stripe hold the same blocks, whichever fragment they are of.
      for (List<FillPlan.Piece> lane : plan.lanes()) {
        for (FillPlan.Piece p : lane) {
          for (List<FillPlan.Piece> other : plan.lanes()) {
            other.stream().filter(q -> q.stripe() == p.stripe() && q.inside() && p.inside())
                .forEach(q -> assertEquals(p.first() + "-" + p.end(), q.first() + "-" + q.end()));
          }
        }
      }
    }
  }
}
