package dev.narvault.core.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Vector API codec produces exactly Backblaze JavaReedSolomon's bytes: random codes
 * (k + m ≤ 256), lengths around and across vector boundaries, unaligned offsets, random erasure
 * patterns. The seed is printed in every failure message. Maven runs this class again in JVMs
 * forced onto the other kernels ({@code narvault.codec.vector-bits}, {@code narvault.codec.pairs}).
 */
class VectorCodecEquivalenceTest {
  private static final long SEED = Long.getLong("narvault.seed", new Random().nextLong());

  private static byte[][] randomFragments(Random random, int n, int size, int k) {
    byte[][] f = new byte[n][size];
    for (int i = 0; i < k; i++) {
      random.nextBytes(f[i]);
    }
    return f;
  }

  private static byte[][] copy(byte[][] f) {
    byte[][] c = new byte[f.length][];
    for (int i = 0; i < f.length; i++) {
      c[i] = f[i] == null ? null : f[i].clone();
    }
    return c;
  }

  @Test
  void encodeParity_isByteIdenticalToBackblaze() {
    Random random = new Random(SEED);
    int[] lengths = {0, 1, 2, 15, 16, 17, 31, 63, 64, 65, 127, 129, 255, 1000, 4097};
    for (int round = 0; round < 150; round++) {
      int k = 1 + random.nextInt(round % 10 == 0 ? 200 : 24);
      int m = 1 + random.nextInt(Math.min(round % 10 == 0 ? 56 : 12, 256 - k));
      int length = round < lengths.length ? lengths[round] : random.nextInt(3000);
      int offset = random.nextInt(70);
      byte[][] fragments = randomFragments(random, k + m, offset + length + random.nextInt(9), k);
      byte[][] expected = copy(fragments);
      byte[][] actual = copy(fragments);
      new BackblazeCodec(k, m).encodeParity(expected, offset, length);
      new VectorCodec(k, m).encodeParity(actual, offset, length);
      for (int i = 0; i < k + m; i++) {
        assertArrayEquals(expected[i], actual[i],
            "RS(" + k + "," + m + ") length " + length + " offset " + offset + " fragment " + i + ", seed " + SEED);
      }
    }
  }

  @Test
  void reconstruct_isByteIdenticalToBackblaze() throws Exception {
    Random random = new Random(SEED + 1);
    for (int round = 0; round < 150; round++) {
      int k = 1 + random.nextInt(round % 10 == 0 ? 120 : 20);
      int m = 1 + random.nextInt(Math.min(round % 10 == 0 ? 60 : 10, 256 - k));
      int length = random.nextInt(2500);
      int offset = random.nextInt(70);
      byte[][] original = randomFragments(random, k + m, offset + length, k);
      new BackblazeCodec(k, m).encodeParity(original, offset, length);
      List<Integer> order = new ArrayList<>();
      for (int i = 0; i < k + m; i++) {
        order.add(i);
      }
      Collections.shuffle(order, random);
      boolean[] present = new boolean[k + m];
      Arrays.fill(present, true);
      for (int i : order.subList(0, 1 + random.nextInt(m))) {
        present[i] = false;
      }
      byte[][] expected = copy(original);
      byte[][] actual = copy(original);
      for (int i = 0; i < k + m; i++) {
        if (!present[i]) {
          Arrays.fill(expected[i], (byte) 0);
          Arrays.fill(actual[i], (byte) 0);
        }
      }
      new BackblazeCodec(k, m).reconstruct(expected, present, offset, length);
      new VectorCodec(k, m).reconstruct(actual, present, offset, length);
      for (int i = 0; i < k + m; i++) {
        assertArrayEquals(expected[i], actual[i], "RS(" + k + "," + m + ") offset " + offset + " length " + length
            + " present " + Arrays.toString(present) + " fragment " + i + ", seed " + SEED);
        assertArrayEquals(Arrays.copyOfRange(original[i], offset, offset + length),
            Arrays.copyOfRange(actual[i], offset, offset + length), "RS(" + k + "," + m + ") fragment " + i + ", seed " + SEED);
      }
    }
  }

  @Test
  void decodeCache_givesSameResultOnRepeatedPatterns() throws Exception {
    VectorCodec codec = new VectorCodec(10, 4);
    Random random = new Random(SEED);
    for (int round = 0; round < 3; round++) {
      byte[][] original = randomFragments(random, 14, 777, 10);
      codec.encodeParity(original, 0, 777);
      byte[][] work = copy(original);
      boolean[] present = {true, false, true, true, false, true, true, true, true, true, true, false, true, true};
      codec.reconstruct(work, present, 0, 777);
      for (int i = 0; i < 14; i++) {
        assertArrayEquals(original[i], work[i], "round " + round + " fragment " + i);
      }
    }
  }

  @Test
  void defaultKind_isVectorWhenTheModuleIsLoaded() {
    assertEquals(Codecs.Kind.VECTOR, Codecs.defaultKind());
    assertEquals("vector", Codecs.create(10, 4).name());
  }

  @Test
  void kernel_isTheOneThisJvmWasToldToUse() {
    String kernel = VectorCodec.kernel();
    String bits = System.getProperty("narvault.codec.vector-bits");
    int max = jdk.incubator.vector.ByteVector.SPECIES_MAX.vectorBitSize();
    if (bits != null) {
      assertTrue(kernel.startsWith(Math.min(Integer.parseInt(bits), max) + "-bit vectors"), kernel);
    } else {
      assertTrue(kernel.matches("(128|512)-bit vectors.*"), "256-bit byte lookups are never the default: " + kernel);
    }
    String pairs = System.getProperty("narvault.codec.pairs");
    if (pairs != null) {
      assertTrue(kernel.contains(Boolean.parseBoolean(pairs) ? "2 per step" : "1 per step"), kernel);
    }
  }

  @Test
  void kernelOverride_rejectsWidthsThatAreNotVectorShapes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorKernel.chooseSpecies("384"));
    assertTrue(e.getMessage().contains("128, 256 or 512"), e.getMessage());
    assertEquals(128, VectorKernel.chooseSpecies("128").vectorBitSize());
    assertEquals(128, VectorKernel.chooseSpecies(" 128 ").vectorBitSize());
    IllegalArgumentException word = assertThrows(IllegalArgumentException.class, () -> VectorKernel.chooseSpecies("wide"));
    assertTrue(word.getMessage().contains("128, 256 or 512") && word.getMessage().contains("wide"), word.getMessage());
    IllegalArgumentException pairs = assertThrows(IllegalArgumentException.class, () -> VectorKernel.choosePairs("yes", 512));
    assertTrue(pairs.getMessage().contains("true or false") && pairs.getMessage().contains("yes"), pairs.getMessage());
    assertTrue(VectorKernel.choosePairs(null, 512) && !VectorKernel.choosePairs(null, 128) && VectorKernel.choosePairs("true", 128));
  }

  @Test
  void avx512WithoutVbmi_isSentToThe128BitKernel() {
    assertTrue(VectorKernel.lacksByteLookups512(java.util.Set.of("avx2", "avx512f", "avx512bw", "avx512vl")));
    assertEquals(false, VectorKernel.lacksByteLookups512(java.util.Set.of("avx512f", "avx512bw", "avx512vbmi")));
    assertEquals(false, VectorKernel.lacksByteLookups512(java.util.Set.of()), "unknown flags: trust the JVM's species");
  }

  @Test
  void warmUp_runsOncePerJvmAndLeavesTheKernelCorrect() {
    VectorKernel.warmUp(5_000_000_000L);
    assertEquals(0, VectorKernel.warmUp(5_000_000_000L), "a second warm-up spends no time");
    byte[][] expected = randomFragments(new Random(SEED), 14, 5000, 10);
    byte[][] actual = copy(expected);
    new BackblazeCodec(10, 4).encodeParity(expected, 0, 5000);
    new VectorCodec(10, 4).encodeParity(actual, 0, 5000);
    assertArrayEquals(expected, actual, "seed " + SEED);
  }
}
