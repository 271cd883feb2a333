package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PackReaderTest {
  private final Codec codec = new BackblazeCodec(4, 2);
  private final PackFixtures.Encoded pack = PackFixtures.encode(codec, new int[] {700, 50, 2500, 3, 1900}, 128, 7);

  /** Serves fragments from memory; some down, some lying; records every read. */
  private class Holders implements FragmentReader {
    final Set<Integer> down;
    final Set<Integer> lying;
    final List<Integer> reads = new ArrayList<>();

    Holders(Set<Integer> down, Set<Integer> lying) {
      this.down = down;
      this.lying = lying;
    }

    @Override
    public byte[] read(int index, long offset, int length) throws IOException {
      reads.add(index);
      if (down.contains(index)) {
        throw new IOException("holder of fragment " + index + " is down");
      }
      byte[] bytes = Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
      if (lying.contains(index)) {
        bytes[bytes.length / 2] ^= 1;
      }
      return bytes;
    }
  }

  private byte[] readNar(PackReader reader, Manifest.Nar nar) throws IOException {
    return reader.readAll(nar.offset(), (int) nar.length());
  }

  private byte[] expected(Manifest.Nar nar) {
    return Arrays.copyOfRange(pack.pack(), (int) nar.offset(), (int) (nar.offset() + nar.length()));
  }

  @Test
  void read_allHoldersUp_readsOnlyDataFragments() throws IOException {
    Holders holders = new Holders(Set.of(), Set.of());
    PackReader reader = new PackReader(pack.manifest(), codec, holders, PackReader.Options.DEFAULTS.withChunkBlocks(2));
    for (Manifest.Nar nar : pack.manifest().nars()) {
      assertArrayEquals(expected(nar), readNar(reader, nar), nar.key());
    }
    assertTrue(holders.reads.stream().allMatch(i -> i < 4), "parity was read: " + holders.reads);
  }

  @Test
  void read_smallNarInsideOneFragment_isOneRangedRead() throws IOException {
    Manifest.Nar small = pack.manifest().nars().get(1);
    Holders holders = new Holders(Set.of(), Set.of());
    assertArrayEquals(expected(small), readNar(new PackReader(pack.manifest(), codec, holders), small));
    assertEquals(1, holders.reads.size());
  }

  @Test
  void read_withUpToMFragmentsDownOrLying_stillReturnsExactBytes() throws IOException {
    int[][] patterns = {{0}, {1, 2}, {0, 3}, {3, 5}, {2, 4}};
    for (int[] pattern : patterns) {
      for (boolean lie : new boolean[] {false, true}) {
        Set<Integer> bad = Arrays.stream(pattern).boxed().collect(Collectors.toSet());
        Holders holders = lie ? new Holders(Set.of(), bad) : new Holders(bad, Set.of());
        PackReader reader = new PackReader(pack.manifest(), codec, holders, PackReader.Options.DEFAULTS.withChunkBlocks(3));
        assertArrayEquals(pack.pack(), reader.readAll(0, pack.pack().length), Arrays.toString(pattern) + " lie=" + lie);
        for (int i : pattern) {
          if (i < 4) {
            assertTrue(reader.failedFragments().get(i), "fragment " + i + " should be marked failed");
          }
        }
      }
    }
  }

  @Test
  void read_moreThanMBad_failsAndNeverWritesAnUnverifiedByte() {
    Holders holders = new Holders(Set.of(0, 4), Set.of(1, 5));
    PackReader reader = new PackReader(pack.manifest(), codec, holders, PackReader.Options.DEFAULTS.withChunkBlocks(1));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThrows(NotEnoughFragmentsException.class, () -> reader.read(0, pack.pack().length, out));
    byte[] written = out.toByteArray();
    assertArrayEquals(Arrays.copyOf(pack.pack(), written.length), written, "every byte written must be correct");
  }

  @Test
  void read_shortAnswerFromHolderIsTreatedAsFailure() throws IOException {
    FragmentReader shortReads = (index, offset, length) -> index == 2
        ? new byte[length - 1]
        : Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
    PackReader reader = new PackReader(pack.manifest(), codec, shortReads);
    assertArrayEquals(pack.pack(), reader.readAll(0, pack.pack().length));
    assertTrue(reader.failedFragments().get(2));
  }

  @Test
  void degradedRead_readsTheKFragmentsAtOnce_andReplacesFailuresWithOthers() throws Exception {
    AtomicInteger now = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    FragmentReader slow = (index, offset, length) -> {
      most.accumulateAndGet(now.incrementAndGet(), Math::max);
      try {
        Thread.sleep(50);
        if (index == 0 || index == 2) {
          throw new IOException("holder of " + index + " is down");
        }
        return Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
      } catch (InterruptedException e) {
        throw new IOException(e);
      } finally {
        now.decrementAndGet();
      }
    };
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      PackReader reader = new PackReader(pack.manifest(), codec, slow, PackReader.Options.DEFAULTS.withChunkBlocks(64).withExecutor(executor, Duration.ofSeconds(30)));
      assertArrayEquals(pack.pack(), reader.readAll(0, pack.pack().length));
      assertTrue(most.get() >= 3, "degraded reads should overlap, at most " + most.get() + " did");
      assertTrue(reader.failedFragments().get(0) && reader.failedFragments().get(2));
    }
  }

  @Test
  void degradedRead_readsTheFastestFragments_notTheFirstByIndex() throws IOException {
    Holders holders = new Holders(Set.of(0), Set.of()) {
      @Override
      public double expectedCost(int index) {
        // Fragment 1's holder has been slow; 2..5 answer fast.
        return index == 1 ? 500 : 5;
      }
    };
    PackReader reader = new PackReader(pack.manifest(), codec, holders, PackReader.Options.DEFAULTS.withChunkBlocks(2));
    // The bytes of fragment 0 only: every one of them decoded.
    int fragmentSize = (int) pack.manifest().layout().fragmentSize();
    assertArrayEquals(Arrays.copyOf(pack.pack(), fragmentSize), reader.readAll(0, fragmentSize));
    assertTrue(holders.reads.contains(5), "decoding read the parity: " + holders.reads);
    assertTrue(!holders.reads.contains(1), "the slow fragment was read, though 4 faster ones were up: " + holders.reads);
  }

  @Test
  void slowDataHolder_isHedged_byDecodingAroundIt() throws Exception {
    AtomicInteger readsOfZero = new AtomicInteger();
    CountDownLatch release = new CountDownLatch(1);
    FragmentReader oneSlow = (index, offset, length) -> {
      if (index == 0) {
        readsOfZero.incrementAndGet();
        try {
          release.await();
        } catch (InterruptedException e) {
          throw new InterruptedIOException("cancelled");
        }
      }
      return Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
    };
    try (var executor = Executors.newVirtualThreadPerTaskExecutor()) {
      PackReader reader = new PackReader(pack.manifest(), codec, oneSlow,
          PackReader.Options.DEFAULTS.withChunkBlocks(1).withExecutor(executor, Duration.ofMillis(50)));
      assertArrayEquals(pack.pack(), reader.readAll(0, pack.pack().length));
      assertEquals(1, readsOfZero.get(), "the slow holder is asked once, then read around");
      assertTrue(reader.failedFragments().get(0));
    } finally {
      release.countDown();
    }
  }

  @Test
  void plan_splitsAtFragmentBoundaries() {
    long f = pack.layout().fragmentSize();
    List<FragmentRange> ranges = ReadPlanner.plan(pack.layout(), f - 10, 20);
    assertEquals(List.of(new FragmentRange(0, f - 10, 10, f - 10), new FragmentRange(1, 0, 10, f)), ranges);
    assertThrows(IllegalArgumentException.class, () -> ReadPlanner.plan(pack.layout(), pack.layout().packLength() - 1, 2));
  }
}
