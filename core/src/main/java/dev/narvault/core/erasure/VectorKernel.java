package dev.narvault.core.erasure;

import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code outputs = coefficients × inputs} over GF(2^8), byte position by byte position, with the
 * JDK Vector API: each product {@code c·d} is two 16-entry table lookups, on the low and the high
 * nibble of d (the PSHUFB technique of ISA-L), XOR-accumulated over the inputs.
 *
 * <p><b>Which kernel.</b> Chosen once per JVM from what its vectors compile to, as measured on
 * each tier (docs/performance.md, "Codec against ISA-L"):
 * <ul>
 *   <li>Width: the preferred species when it is 512 bits and the CPU has AVX-512 VBMI (a
 *       64-lane {@code selectFrom} is one {@code vpermb}), else 128 bits. On AVX2 a 256-bit byte
 *       {@code selectFrom} is cross-lane by contract and C2 emulates it with five instructions
 *       (two {@code vpshufb}, a lane swap, an add and a blend), slower than two 128-bit
 *       {@code vpshufb}; NEON is 128-bit anyway.
 *   <li>Pairs: with 512-bit vectors (32 registers) each step makes two vectors of every output,
 *       so each table is loaded once for both; with 16 registers the second set of accumulators
 *       spills, so one vector per step.
 *   <li>Outputs per pass: {@link CoefficientTables#GROUP}; each input vector is loaded and split
 *       into nibbles once per group.
 * </ul>
 * {@code -Dnarvault.codec.vector-bits=128|256|512} and {@code -Dnarvault.codec.pairs=true|false}
 * override the choice (for measuring; never wider than the JVM supports).
 *
 * <p>The high nibble is a 16-bit shift and a mask (two instructions), not a byte shift: x86 has
 * no byte shift and C2 widens, shifts, narrows and masks (six).
 *
 * <p>The product is written out in each loop rather than called: once a helper like it is compiled
 * on its own, C2 may refuse to inline it into a later compilation ("already compiled into a big
 * method"), and every vector it returns is then boxed on the heap, a hundredfold slowdown that
 * appears or not depending on the order in which code shapes were first run. Accumulators are
 * named locals, not an array, so that they stay in registers; hence one method per group width.
 * The range is cut into tiles that fit the L2 cache, so a wide code's later groups read their
 * inputs from cache rather than memory. Bytes past the last whole vector go through the scalar
 * product table.
 */
final class VectorKernel {
  static final VectorSpecies<Byte> SPECIES = chooseSpecies(System.getProperty("narvault.codec.vector-bits"));
  static final int LENGTH = SPECIES.length();
  static final boolean PAIRS = choosePairs(System.getProperty("narvault.codec.pairs"), SPECIES.vectorBitSize());

  private static final byte LOW_NIBBLE = 0x0f;

  /**
   * Bytes of all inputs together that one tile may span: small enough to stay in the L2 cache
   * while every group of outputs passes over it, so the inputs come from memory once.
   */
  private static final int TILE_INPUT_BYTES = 192 * 1024;

  private static final AtomicBoolean WARMED = new AtomicBoolean();

  private VectorKernel() {}

  /**
   * Runs every loop of the kernel (each group width; pairs, single vectors and the scalar tail)
   * on small inputs until C2 has compiled them, at most {@code limitNanos}; returns the nanoseconds
   * spent (0 if an earlier call did it). Until C2 is done the loops run as C1 code, in which the
   * Vector API is not intrinsified and every vector operation allocates: about a hundred times
   * slower. Compiling these large methods takes C2 0.1 to 0.5 s on a busy 2-core machine; a
   * request or a benchmark round that falls into that window is what looked like a cliff.
   * Compiled is taken to be: every group width at 300 MB/s of input or more in the same round
   * (C1 code runs at about 30, C2 code at thousands).
   */
  static long warmUp(long limitNanos) {
    if (!WARMED.compareAndSet(false, true)) {
      return 0;
    }
    int inputs = 4;
    int length = 16 * LENGTH + LENGTH + 3;
    Random random = new Random(7);
    byte[][] in = new byte[inputs][length];
    for (byte[] fragment : in) {
      random.nextBytes(fragment);
    }
    CoefficientTables[] groups = new CoefficientTables[CoefficientTables.GROUP];
    byte[][][] out = new byte[groups.length][][];
    for (int w = 1; w <= groups.length; w++) {
      byte[][] coefficients = new byte[w][inputs];
      for (byte[] row : coefficients) {
        random.nextBytes(row);
      }
      groups[w - 1] = new CoefficientTables(coefficients, LENGTH);
      out[w - 1] = new byte[w][length];
    }
    double inputBytes = (double) inputs * length;
    long start = System.nanoTime();
    while (true) {
      boolean compiled = true;
      for (int g = 0; g < groups.length; g++) {
        long roundStart = System.nanoTime();
        multiply(groups[g], in, out[g], 0, length);
        long nanos = Math.max(1, System.nanoTime() - roundStart);
        compiled &= inputBytes / nanos * 1e3 >= 300;
      }
      long spent = System.nanoTime() - start;
      if (compiled || spent >= limitNanos) {
        return spent;
      }
    }
  }

  static VectorSpecies<Byte> chooseSpecies(String override) {
    int max = ByteVector.SPECIES_MAX.vectorBitSize();
    int bits;
    if (override != null && !override.isBlank()) {
      bits = switch (override.strip()) {
        case "128" -> 128;
        case "256" -> 256;
        case "512" -> 512;
        default -> -1;
      };
      if (bits < 0) {
        throw new IllegalArgumentException("narvault.codec.vector-bits must be 128, 256 or 512, got " + override);
      }
    } else {
      bits = ByteVector.SPECIES_PREFERRED.vectorBitSize() >= 512 && !lacksByteLookups512(cpuFlags()) ? 512 : 128;
    }
    bits = Math.max(128, Math.min(bits, max));
    return ByteVector.SPECIES_128.vectorBitSize() == bits ? ByteVector.SPECIES_128
        : VectorSpecies.of(byte.class, VectorShape.forBitSize(bits));
  }

  /**
   * AVX-512 without VBMI (Skylake-SP, Cascade Lake): no {@code vpermb}, so C2 builds a 64-lane byte
   * {@code selectFrom} out of four masked 16-lane passes; the 128-bit kernel is the better one there.
   */
  static boolean lacksByteLookups512(Set<String> flags) {
    return flags.contains("avx512bw") && !flags.contains("avx512vbmi");
  }

  /** The CPU's feature flags as Linux lists them in /proc/cpuinfo; empty where unknown. */
  private static Set<String> cpuFlags() {
    try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(line -> line.startsWith("flags")).findFirst()
          .map(line -> line.substring(line.indexOf(':') + 1).strip().split("\\s+"))
          .map(flags -> (Set<String>) new HashSet<>(Arrays.asList(flags)))
          .orElse(Set.of());
    } catch (IOException | RuntimeException e) {
      return Set.of();
    }
  }

  static boolean choosePairs(String override, int bits) {
    if (override != null && !override.isBlank()) {
      return switch (override.strip()) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new IllegalArgumentException("narvault.codec.pairs must be true or false, got " + override);
      };
    }
    return bits >= 512;
  }

  /** The kernel in one line, for reports: "512-bit vectors, 2 per step, 4 outputs per pass". */
  static String describe() {
    return String.format(Locale.ROOT, "%d-bit vectors, %d per step, %d outputs per pass",
        SPECIES.vectorBitSize(), PAIRS ? 2 : 1, CoefficientTables.GROUP);
  }

  static void multiply(CoefficientTables t, byte[][] inputs, byte[][] outputs, int offset, int length) {
    int end = offset + length;
    int vectorEnd = offset + SPECIES.loopBound(length);
    int tile = Math.max(16 * LENGTH, TILE_INPUT_BYTES / t.inputs / (2 * LENGTH) * (2 * LENGTH));
    for (int from = offset; from < vectorEnd; from += tile) {
      int to = Math.min(vectorEnd, from + tile);
      for (int r = 0; r < t.rows; r += CoefficientTables.GROUP) {
        int base = t.offset(r, 0);
        switch (t.groupWidth(r)) {
          case 4 -> rows4(t.tables, base, inputs, outputs, r, from, to);
          case 3 -> rows3(t.tables, base, inputs, outputs, r, from, to);
          case 2 -> rows2(t.tables, base, inputs, outputs, r, from, to);
          default -> rows1(t.tables, base, inputs, outputs, r, from, to);
        }
      }
    }
    if (vectorEnd < end) {
      scalar(t, inputs, outputs, vectorEnd, end);
    }
  }

  private static void rows4(byte[] tables, int base, byte[][] in, byte[][] out, int r, int from, int to) {
    int k = in.length;
    int step = 8 * LENGTH;
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    byte[] out2 = out[r + 2];
    byte[] out3 = out[r + 3];
    int p = from;
    if (PAIRS) {
      for (; p + 2 * LENGTH <= to; p += 2 * LENGTH) {
        ByteVector a0 = ByteVector.zero(SPECIES);
        ByteVector b0 = a0;
        ByteVector a1 = a0;
        ByteVector b1 = a0;
        ByteVector a2 = a0;
        ByteVector b2 = a0;
        ByteVector a3 = a0;
        ByteVector b3 = a0;
        for (int i = 0, t = base; i < k; i++, t += step) {
          byte[] src = in[i];
          ByteVector da = ByteVector.fromArray(SPECIES, src, p);
          ByteVector db = ByteVector.fromArray(SPECIES, src, p + LENGTH);
          ByteVector lowA = da.and(LOW_NIBBLE);
          ByteVector highA = da.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes()
              .and(LOW_NIBBLE);
          ByteVector lowB = db.and(LOW_NIBBLE);
          ByteVector highB = db.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
          ByteVector tl = ByteVector.fromArray(SPECIES, tables, t);
          ByteVector th = ByteVector.fromArray(SPECIES, tables, t + LENGTH);
          a0 = a0.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b0 = b0.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH);
          a1 = a1.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b1 = b1.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 4 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 5 * LENGTH);
          a2 = a2.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b2 = b2.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 6 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 7 * LENGTH);
          a3 = a3.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b3 = b3.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
        }
        a0.intoArray(out0, p);
        b0.intoArray(out0, p + LENGTH);
        a1.intoArray(out1, p);
        b1.intoArray(out1, p + LENGTH);
        a2.intoArray(out2, p);
        b2.intoArray(out2, p + LENGTH);
        a3.intoArray(out3, p);
        b3.intoArray(out3, p + LENGTH);
      }
    }
    for (; p < to; p += LENGTH) {
      ByteVector a0 = ByteVector.zero(SPECIES);
      ByteVector a1 = a0;
      ByteVector a2 = a0;
      ByteVector a3 = a0;
      for (int i = 0, t = base; i < k; i++, t += step) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and(LOW_NIBBLE);
        ByteVector high = d.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
        a0 = a0.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + LENGTH))));
        a1 = a1.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH))));
        a2 = a2.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 4 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 5 * LENGTH))));
        a3 = a3.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 6 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 7 * LENGTH))));
      }
      a0.intoArray(out0, p);
      a1.intoArray(out1, p);
      a2.intoArray(out2, p);
      a3.intoArray(out3, p);
    }
  }

  private static void rows3(byte[] tables, int base, byte[][] in, byte[][] out, int r, int from, int to) {
    int k = in.length;
    int step = 6 * LENGTH;
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    byte[] out2 = out[r + 2];
    int p = from;
    if (PAIRS) {
      for (; p + 2 * LENGTH <= to; p += 2 * LENGTH) {
        ByteVector a0 = ByteVector.zero(SPECIES);
        ByteVector b0 = a0;
        ByteVector a1 = a0;
        ByteVector b1 = a0;
        ByteVector a2 = a0;
        ByteVector b2 = a0;
        for (int i = 0, t = base; i < k; i++, t += step) {
          byte[] src = in[i];
          ByteVector da = ByteVector.fromArray(SPECIES, src, p);
          ByteVector db = ByteVector.fromArray(SPECIES, src, p + LENGTH);
          ByteVector lowA = da.and(LOW_NIBBLE);
          ByteVector highA = da.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes()
              .and(LOW_NIBBLE);
          ByteVector lowB = db.and(LOW_NIBBLE);
          ByteVector highB = db.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
          ByteVector tl = ByteVector.fromArray(SPECIES, tables, t);
          ByteVector th = ByteVector.fromArray(SPECIES, tables, t + LENGTH);
          a0 = a0.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b0 = b0.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH);
          a1 = a1.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b1 = b1.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 4 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 5 * LENGTH);
          a2 = a2.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b2 = b2.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
        }
        a0.intoArray(out0, p);
        b0.intoArray(out0, p + LENGTH);
        a1.intoArray(out1, p);
        b1.intoArray(out1, p + LENGTH);
        a2.intoArray(out2, p);
        b2.intoArray(out2, p + LENGTH);
      }
    }
    for (; p < to; p += LENGTH) {
      ByteVector a0 = ByteVector.zero(SPECIES);
      ByteVector a1 = a0;
      ByteVector a2 = a0;
      for (int i = 0, t = base; i < k; i++, t += step) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and(LOW_NIBBLE);
        ByteVector high = d.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
        a0 = a0.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + LENGTH))));
        a1 = a1.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH))));
        a2 = a2.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 4 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 5 * LENGTH))));
      }
      a0.intoArray(out0, p);
      a1.intoArray(out1, p);
      a2.intoArray(out2, p);
    }
  }

  private static void rows2(byte[] tables, int base, byte[][] in, byte[][] out, int r, int from, int to) {
    int k = in.length;
    int step = 4 * LENGTH;
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    int p = from;
    if (PAIRS) {
      for (; p + 2 * LENGTH <= to; p += 2 * LENGTH) {
        ByteVector a0 = ByteVector.zero(SPECIES);
        ByteVector b0 = a0;
        ByteVector a1 = a0;
        ByteVector b1 = a0;
        for (int i = 0, t = base; i < k; i++, t += step) {
          byte[] src = in[i];
          ByteVector da = ByteVector.fromArray(SPECIES, src, p);
          ByteVector db = ByteVector.fromArray(SPECIES, src, p + LENGTH);
          ByteVector lowA = da.and(LOW_NIBBLE);
          ByteVector highA = da.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes()
              .and(LOW_NIBBLE);
          ByteVector lowB = db.and(LOW_NIBBLE);
          ByteVector highB = db.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
          ByteVector tl = ByteVector.fromArray(SPECIES, tables, t);
          ByteVector th = ByteVector.fromArray(SPECIES, tables, t + LENGTH);
          a0 = a0.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b0 = b0.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
          tl = ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH);
          th = ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH);
          a1 = a1.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b1 = b1.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
        }
        a0.intoArray(out0, p);
        b0.intoArray(out0, p + LENGTH);
        a1.intoArray(out1, p);
        b1.intoArray(out1, p + LENGTH);
      }
    }
    for (; p < to; p += LENGTH) {
      ByteVector a0 = ByteVector.zero(SPECIES);
      ByteVector a1 = a0;
      for (int i = 0, t = base; i < k; i++, t += step) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and(LOW_NIBBLE);
        ByteVector high = d.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
        a0 = a0.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + LENGTH))));
        a1 = a1.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 2 * LENGTH))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + 3 * LENGTH))));
      }
      a0.intoArray(out0, p);
      a1.intoArray(out1, p);
    }
  }

  private static void rows1(byte[] tables, int base, byte[][] in, byte[][] out, int r, int from, int to) {
    int k = in.length;
    int step = 2 * LENGTH;
    byte[] out0 = out[r];
    int p = from;
    if (PAIRS) {
      for (; p + 2 * LENGTH <= to; p += 2 * LENGTH) {
        ByteVector a0 = ByteVector.zero(SPECIES);
        ByteVector b0 = a0;
        for (int i = 0, t = base; i < k; i++, t += step) {
          byte[] src = in[i];
          ByteVector da = ByteVector.fromArray(SPECIES, src, p);
          ByteVector db = ByteVector.fromArray(SPECIES, src, p + LENGTH);
          ByteVector lowA = da.and(LOW_NIBBLE);
          ByteVector highA = da.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes()
              .and(LOW_NIBBLE);
          ByteVector lowB = db.and(LOW_NIBBLE);
          ByteVector highB = db.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
          ByteVector tl = ByteVector.fromArray(SPECIES, tables, t);
          ByteVector th = ByteVector.fromArray(SPECIES, tables, t + LENGTH);
          a0 = a0.lanewise(XOR, lowA.selectFrom(tl).lanewise(XOR, highA.selectFrom(th)));
          b0 = b0.lanewise(XOR, lowB.selectFrom(tl).lanewise(XOR, highB.selectFrom(th)));
        }
        a0.intoArray(out0, p);
        b0.intoArray(out0, p + LENGTH);
      }
    }
    for (; p < to; p += LENGTH) {
      ByteVector a0 = ByteVector.zero(SPECIES);
      for (int i = 0, t = base; i < k; i++, t += step) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and(LOW_NIBBLE);
        ByteVector high = d.reinterpretAsShorts().lanewise(LSHR, 4).reinterpretAsBytes().and(LOW_NIBBLE);
        a0 = a0.lanewise(XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, t))
            .lanewise(XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, t + LENGTH))));
      }
      a0.intoArray(out0, p);
    }
  }

  private static void scalar(CoefficientTables t, byte[][] in, byte[][] out, int from, int to) {
    byte[] mul = GaloisField.MUL;
    for (int r = 0; r < t.rows; r++) {
      byte[] row = t.coefficients[r];
      byte[] o = out[r];
      for (int p = from; p < to; p++) {
        int v = 0;
        for (int i = 0; i < t.inputs; i++) {
          v ^= mul[(row[i] & 0xff) * 256 + (in[i][p] & 0xff)];
        }
        o[p] = (byte) v;
      }
    }
  }
}
