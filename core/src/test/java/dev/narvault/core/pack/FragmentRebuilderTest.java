package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class FragmentRebuilderTest {
  private static final BackblazeCodec CODEC = new BackblazeCodec(4, 2);

  private static PackFixtures.Encoded encoded() {
    // Several blocks per fragment and a stripe smaller than a fragment, so the rebuild takes steps.
    return PackFixtures.encode(CODEC, new int[] {9_000, 20_000, 3_333}, 512, 5);
  }

  private static BitSet all(int n) {
    BitSet b = new BitSet();
    b.set(0, n);
    return b;
  }

  @Test
  void rebuild_lostFragmentsFromAnyK_byteForByte_evenWhenASourceLies() throws IOException {
    PackFixtures.Encoded e = encoded();
    byte[][] served = new byte[6][];
    for (int i = 0; i < 6; i++) {
      served[i] = e.fragments()[i].clone();
    }
    served[3][700] ^= 1; // fragment 3 lies in its second block
    FragmentReader reader = (index, offset, length) -> {
      if (index == 0 || index == 4) {
        throw new IOException("holder gone");
      }
      return Arrays.copyOfRange(served[index], (int) offset, (int) offset + length);
    };
    FragmentRebuilder rebuilder = new FragmentRebuilder(e.manifest(), CODEC, reader, Runnable::run, 2048);
    ByteArrayOutputStream f0 = new ByteArrayOutputStream();
    ByteArrayOutputStream f4 = new ByteArrayOutputStream();
    BitSet usable = all(6);
    usable.clear(0);
    usable.clear(4);
    // Sources 1, 2, 3, 5 are all needed (k = 4), but 3 lies: not enough honest ones.
    assertThrows(NotEnoughFragmentsException.class, () -> rebuilder.rebuild(List.of(0, 4), usable, List.of(f0, f4)));
    assertTrue(rebuilder.failedSources().get(3));
    assertTrue(rebuilder.failure(3) instanceof FragmentCorruptException, String.valueOf(rebuilder.failure(3)));

    // Only fragment 4's holder is gone: 3 is read around, and 0 is rebuilt alongside 4.
    FragmentReader fewer = (index, offset, length) -> {
      if (index == 4) {
        throw new IOException("holder gone");
      }
      return Arrays.copyOfRange(served[index], (int) offset, (int) offset + length);
    };
    FragmentRebuilder again = new FragmentRebuilder(e.manifest(), CODEC, fewer, Runnable::run, 2048);
    ByteArrayOutputStream g0 = new ByteArrayOutputStream();
    ByteArrayOutputStream g4 = new ByteArrayOutputStream();
    BitSet some = all(6);
    some.clear(4);
    again.rebuild(List.of(0, 4), some, List.of(g0, g4));
    assertArrayEquals(e.fragments()[0], g0.toByteArray());
    assertArrayEquals(e.fragments()[4], g4.toByteArray());
    assertEquals(BitSet.valueOf(new long[] {1L << 3}), again.failedSources());
  }

  @Test
  void rebuild_sourcesWithABadBlockEach_stillServeTheirGoodBlocks() throws IOException {
    BackblazeCodec codec = new BackblazeCodec(3, 3);
    PackFixtures.Encoded e = PackFixtures.encode(codec, new int[] {9_000, 20_000, 3_333}, 512, 5);
    byte[][] served = new byte[6][];
    for (int i = 0; i < 6; i++) {
      served[i] = e.fragments()[i].clone();
    }
    // Stripes of four 512-byte blocks: fragment 0 rots in the first stripe, fragment 1 in the second.
    served[0][100] ^= 1;
    served[1][2048 + 100] ^= 1;
    FragmentReader reader = (index, offset, length) ->
        Arrays.copyOfRange(served[index], (int) offset, (int) offset + length);
    BitSet usable = all(4); // 0, 1, 2, 3: one clean source short of k + 1
    FragmentRebuilder rebuilder = new FragmentRebuilder(e.manifest(), codec, reader, Runnable::run, 2048);
    ByteArrayOutputStream f4 = new ByteArrayOutputStream();
    ByteArrayOutputStream f5 = new ByteArrayOutputStream();
    // Stripe 1 has only 2 and 3 clean, and 1 is bad there: 0's good second stripe makes k = 3.
    rebuilder.rebuild(List.of(4, 5), usable, List.of(f4, f5));
    assertArrayEquals(e.fragments()[4], f4.toByteArray());
    assertArrayEquals(e.fragments()[5], f5.toByteArray());
    assertEquals(BitSet.valueOf(new long[] {0b11}), rebuilder.failedSources(), "both rotten copies reported");
    assertTrue(rebuilder.failure(0) instanceof FragmentCorruptException);
    assertTrue(rebuilder.failure(1) instanceof FragmentCorruptException);
    assertEquals(new BitSet(), rebuilder.lostSources(), "neither is lost: their good blocks served");

    // A source that cannot be reached at all is lost: not asked again.
    FragmentReader gone = (index, offset, length) -> {
      if (index == 2) {
        throw new IOException("holder gone");
      }
      return Arrays.copyOfRange(e.fragments()[index], (int) offset, (int) offset + length);
    };
    FragmentRebuilder again = new FragmentRebuilder(e.manifest(), codec, gone, Runnable::run, 2048);
    again.rebuild(List.of(5), all(5), List.of(new ByteArrayOutputStream()));
    assertEquals(BitSet.valueOf(new long[] {0b100}), again.lostSources());
  }

  @Test
  void rebuild_aWantedFragmentThatIsStillReadable_isCopiedVerified() throws IOException {
    PackFixtures.Encoded e = encoded();
    FragmentReader reader = (index, offset, length) ->
        Arrays.copyOfRange(e.fragments()[index], (int) offset, (int) offset + length);
    ByteArrayOutputStream f1 = new ByteArrayOutputStream();
    new FragmentRebuilder(e.manifest(), CODEC, reader, Runnable::run, 1 << 20).rebuild(List.of(1), all(6), List.of(f1));
    assertArrayEquals(e.fragments()[1], f1.toByteArray());
  }

  @Test
  void rebuild_rejectsMismatchedArguments() {
    PackFixtures.Encoded e = encoded();
    FragmentReader reader = (index, offset, length) -> new byte[length];
    FragmentRebuilder r = new FragmentRebuilder(e.manifest(), CODEC, reader, Runnable::run, 4096);
    assertThrows(IllegalArgumentException.class, () -> r.rebuild(List.of(0), all(6), List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> new FragmentRebuilder(e.manifest(), new BackblazeCodec(3, 2), reader, Runnable::run, 4096));
  }
}
