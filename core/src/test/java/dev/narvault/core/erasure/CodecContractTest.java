package dev.narvault.core.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract every {@link Codec} implementation must keep; runs against each kind. */
class CodecContractTest {
  private static final long SEED = new Random().nextLong();

  static Stream<Codecs.Kind> kinds() {
    return Stream.of(Codecs.Kind.values());
  }

  static Stream<Arguments> smallCodes() {
    return kinds().flatMap(kind -> Stream.of(Arguments.of(kind, 4, 2), Arguments.of(kind, 6, 3),
        Arguments.of(kind, 1, 1), Arguments.of(kind, 3, 1)));
  }

  static Stream<Arguments> wideCodes() {
    return kinds().flatMap(kind -> Stream.of(Arguments.of(kind, 10, 4), Arguments.of(kind, 17, 3),
        Arguments.of(kind, 20, 10), Arguments.of(kind, 30, 30), Arguments.of(kind, 200, 56)));
  }

  static byte[][] encoded(Codec codec, int length, Random random) {
    byte[][] fragments = new byte[codec.totalFragmentCount()][length];
    for (int i = 0; i < codec.dataFragmentCount(); i++) {
      random.nextBytes(fragments[i]);
    }
    codec.encodeParity(fragments, 0, length);
    return fragments;
  }

  static byte[][] copy(byte[][] fragments) {
    byte[][] c = new byte[fragments.length][];
    for (int i = 0; i < fragments.length; i++) {
      c[i] = fragments[i].clone();
    }
    return c;
  }

  /** Erases the fragments in {@code missing}, reconstructs, and checks every byte came back. */
  static void assertRecovers(Codec codec, byte[][] original, List<Integer> missing) throws Exception {
    byte[][] work = copy(original);
    boolean[] present = new boolean[work.length];
    Arrays.fill(present, true);
    for (int i : missing) {
      present[i] = false;
      Arrays.fill(work[i], (byte) 0x5a);
    }
    codec.reconstruct(work, present, 0, original[0].length);
    for (int i = 0; i < work.length; i++) {
      assertArrayEquals(original[i], work[i], "fragment " + i + " after losing " + missing + ", seed " + SEED);
    }
  }

  @ParameterizedTest(name = "{0} RS({1},{2})")
  @MethodSource("smallCodes")
  void reconstruct_recoversFromEveryErasurePatternUpToM(Codecs.Kind kind, int k, int m) throws Exception {
    Codec codec = Codecs.create(kind, k, m);
    byte[][] original = encoded(codec, 257, new Random(SEED));
    int n = k + m;
    int patterns = 0;
    for (int mask = 1; mask < (1 << n); mask++) {
      if (Integer.bitCount(mask) > m) {
        continue;
      }
      List<Integer> missing = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        if ((mask & (1 << i)) != 0) {
          missing.add(i);
        }
      }
      assertRecovers(codec, original, missing);
      patterns++;
    }
    assertTrue(patterns >= n, "tried " + patterns + " patterns");
  }

  @ParameterizedTest(name = "{0} RS({1},{2})")
  @MethodSource("wideCodes")
  void reconstruct_recoversFromRandomErasurePatterns(Codecs.Kind kind, int k, int m) throws Exception {
    Codec codec = Codecs.create(kind, k, m);
    Random random = new Random(SEED ^ (k * 31L + m));
    byte[][] original = encoded(codec, 1 + random.nextInt(3000), random);
    for (int round = 0; round < 12; round++) {
      List<Integer> all = new ArrayList<>();
      for (int i = 0; i < k + m; i++) {
        all.add(i);
      }
      Collections.shuffle(all, random);
      assertRecovers(codec, original, all.subList(0, 1 + random.nextInt(m)));
    }
  }

  @ParameterizedTest(name = "{0} RS({1},{2})")
  @MethodSource("smallCodes")
  void reconstruct_withMoreThanMMissing_failsWithoutTouchingFragments(Codecs.Kind kind, int k, int m) {
    Codec codec = Codecs.create(kind, k, m);
    byte[][] original = encoded(codec, 64, new Random(SEED));
    byte[][] work = copy(original);
    boolean[] present = new boolean[k + m];
    for (int i = m + 1; i < k + m; i++) {
      present[i] = true;
    }
    NotEnoughFragmentsException e = assertThrows(NotEnoughFragmentsException.class,
        () -> codec.reconstruct(work, present, 0, 64));
    assertTrue(e.getMessage().contains("needed"));
    for (int i = 0; i < work.length; i++) {
      assertArrayEquals(original[i], work[i]);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void encodeAndReconstruct_onSubRangeTouchOnlyThatRange(Codecs.Kind kind) throws Exception {
    Codec codec = Codecs.create(kind, 5, 3);
    Random random = new Random(SEED);
    byte[][] whole = encoded(codec, 1000, random);
    // Encoding a sub-range gives the same parity bytes there and leaves the rest alone.
    byte[][] partial = copy(whole);
    for (int i = 5; i < 8; i++) {
      Arrays.fill(partial[i], (byte) 7);
    }
    codec.encodeParity(partial, 123, 301);
    for (int i = 5; i < 8; i++) {
      for (int b = 0; b < 1000; b++) {
        byte expected = b >= 123 && b < 424 ? whole[i][b] : 7;
        if (partial[i][b] != expected) {
          throw new AssertionError("parity " + i + " byte " + b);
        }
      }
    }
    // Reconstructing a sub-range restores exactly that range.
    byte[][] work = copy(whole);
    Arrays.fill(work[2], (byte) 0);
    boolean[] present = {true, true, false, true, true, true, true, true};
    codec.reconstruct(work, present, 500, 77);
    assertArrayEquals(Arrays.copyOfRange(whole[2], 500, 577), Arrays.copyOfRange(work[2], 500, 577));
    assertTrue(work[2][499] == 0 && work[2][577] == 0);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void reconstruct_leavesUnwantedNullFragmentsNull(Codecs.Kind kind) throws Exception {
    Codec codec = Codecs.create(kind, 4, 2);
    byte[][] whole = encoded(codec, 100, new Random(SEED));
    byte[][] work = copy(whole);
    work[1] = new byte[100];
    work[5] = null;
    boolean[] present = {true, false, true, true, true, false};
    codec.reconstruct(work, present, 0, 100);
    assertArrayEquals(whole[1], work[1]);
    assertNull(work[5]);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void create_rejectsBadCountsWithTheValue(Codecs.Kind kind) {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Codecs.create(kind, 0, 2)).getMessage().contains("0"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Codecs.create(kind, 200, 57)).getMessage().contains("57"));
    Codec codec = Codecs.create(kind, 2, 1);
    assertThrows(IllegalArgumentException.class, () -> codec.encodeParity(new byte[2][10], 0, 10));
    assertThrows(IllegalArgumentException.class, () -> codec.encodeParity(new byte[3][10], 5, 10));
  }
}
