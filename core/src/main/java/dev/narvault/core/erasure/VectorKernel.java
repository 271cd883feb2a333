package dev.narvault.core.erasure;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code outputs = coefficients × inputs} over GF(2^8), byte position by byte position, with the
 * JDK Vector API: each product {@code c·d} is two 16-entry table lookups, on the low and the high
 * nibble of d (the PSHUFB technique of ISA-L), XOR-accumulated over the inputs.
 *
 * <p>The product is written out in each loop rather than called: once a helper like it is compiled
 * on its own, C2 may refuse to inline it into a later compilation ("already compiled into a big
 * method"), and every vector it returns is then boxed on the heap, a hundredfold slowdown that
 * appears or not depending on the order in which code shapes were first run.
 *
 * <p>Outputs are made four at a time: each input vector is loaded and split into nibbles once and
 * used for four accumulators, so the inputs are read {@code ⌈rows/4⌉} times rather than
 * {@code rows} times. The four-, three-, two- and one-output loops are written out because
 * accumulators must stay in registers; an array of vectors would not. The range is cut into
 * tiles that fit the L2 cache, so a wide code's later output groups read their inputs from cache
 * rather than memory. Bytes past the last whole vector go through the scalar product table.
 */
final class VectorKernel {
  static final VectorSpecies<Byte> SPECIES = chooseSpecies();
  static final int LENGTH = SPECIES.length();

  private VectorKernel() {}

  /** The machine's preferred byte species, but never narrower than 128 bits (16 nibble entries). */
  private static VectorSpecies<Byte> chooseSpecies() {
    VectorSpecies<Byte> preferred = ByteVector.SPECIES_PREFERRED;
    return preferred.vectorBitSize() >= 128 ? preferred : ByteVector.SPECIES_128;
  }

  /**
   * Bytes of all inputs together that one tile may span: small enough to stay in the L2 cache
   * while every group of four outputs passes over it, so the inputs come from memory once.
   */
  private static final int TILE_INPUT_BYTES = 192 * 1024;

  static void multiply(CoefficientTables t, byte[][] inputs, byte[][] outputs, int offset, int length) {
    int end = offset + length;
    int vectorEnd = offset + SPECIES.loopBound(length);
    int tile = Math.max(16 * LENGTH, TILE_INPUT_BYTES / t.inputs / LENGTH * LENGTH);
    for (int from = offset; from < vectorEnd; from += tile) {
      int to = Math.min(vectorEnd, from + tile);
      for (int r = 0; r < t.rows; r += 4) {
        switch (Math.min(4, t.rows - r)) {
          case 4 -> rows4(t, r, inputs, outputs, from, to);
          case 3 -> rows3(t, r, inputs, outputs, from, to);
          case 2 -> rows2(t, r, inputs, outputs, from, to);
          default -> rows1(t, r, inputs, outputs, from, to);
        }
      }
    }
    if (vectorEnd < end) {
      scalar(t, inputs, outputs, vectorEnd, end);
    }
  }

  private static void rows4(CoefficientTables t, int r, byte[][] in, byte[][] out, int from, int to) {
    byte[] tables = t.tables;
    int k = t.inputs;
    int step = 2 * LENGTH;
    int base0 = t.offset(r, 0);
    int base1 = t.offset(r + 1, 0);
    int base2 = t.offset(r + 2, 0);
    int base3 = t.offset(r + 3, 0);
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    byte[] out2 = out[r + 2];
    byte[] out3 = out[r + 3];
    for (int p = from; p < to; p += LENGTH) {
      ByteVector acc0 = ByteVector.zero(SPECIES);
      ByteVector acc1 = acc0;
      ByteVector acc2 = acc0;
      ByteVector acc3 = acc0;
      for (int i = 0; i < k; i++) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and((byte) 0x0f);
        ByteVector high = d.lanewise(VectorOperators.LSHR, 4);
        int ti = i * step;
        acc0 = acc0.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti + LENGTH))));
        acc1 = acc1.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti + LENGTH))));
        acc2 = acc2.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base2 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base2 + ti + LENGTH))));
        acc3 = acc3.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base3 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base3 + ti + LENGTH))));
      }
      acc0.intoArray(out0, p);
      acc1.intoArray(out1, p);
      acc2.intoArray(out2, p);
      acc3.intoArray(out3, p);
    }
  }

  private static void rows3(CoefficientTables t, int r, byte[][] in, byte[][] out, int from, int to) {
    byte[] tables = t.tables;
    int k = t.inputs;
    int step = 2 * LENGTH;
    int base0 = t.offset(r, 0);
    int base1 = t.offset(r + 1, 0);
    int base2 = t.offset(r + 2, 0);
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    byte[] out2 = out[r + 2];
    for (int p = from; p < to; p += LENGTH) {
      ByteVector acc0 = ByteVector.zero(SPECIES);
      ByteVector acc1 = acc0;
      ByteVector acc2 = acc0;
      for (int i = 0; i < k; i++) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and((byte) 0x0f);
        ByteVector high = d.lanewise(VectorOperators.LSHR, 4);
        int ti = i * step;
        acc0 = acc0.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti + LENGTH))));
        acc1 = acc1.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti + LENGTH))));
        acc2 = acc2.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base2 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base2 + ti + LENGTH))));
      }
      acc0.intoArray(out0, p);
      acc1.intoArray(out1, p);
      acc2.intoArray(out2, p);
    }
  }

  private static void rows2(CoefficientTables t, int r, byte[][] in, byte[][] out, int from, int to) {
    byte[] tables = t.tables;
    int k = t.inputs;
    int step = 2 * LENGTH;
    int base0 = t.offset(r, 0);
    int base1 = t.offset(r + 1, 0);
    byte[] out0 = out[r];
    byte[] out1 = out[r + 1];
    for (int p = from; p < to; p += LENGTH) {
      ByteVector acc0 = ByteVector.zero(SPECIES);
      ByteVector acc1 = acc0;
      for (int i = 0; i < k; i++) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and((byte) 0x0f);
        ByteVector high = d.lanewise(VectorOperators.LSHR, 4);
        int ti = i * step;
        acc0 = acc0.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + ti + LENGTH))));
        acc1 = acc1.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base1 + ti + LENGTH))));
      }
      acc0.intoArray(out0, p);
      acc1.intoArray(out1, p);
    }
  }

  private static void rows1(CoefficientTables t, int r, byte[][] in, byte[][] out, int from, int to) {
    byte[] tables = t.tables;
    int k = t.inputs;
    int step = 2 * LENGTH;
    int base0 = t.offset(r, 0);
    byte[] out0 = out[r];
    for (int p = from; p < to; p += LENGTH) {
      ByteVector acc0 = ByteVector.zero(SPECIES);
      for (int i = 0; i < k; i++) {
        ByteVector d = ByteVector.fromArray(SPECIES, in[i], p);
        ByteVector low = d.and((byte) 0x0f);
        ByteVector high = d.lanewise(VectorOperators.LSHR, 4);
        acc0 = acc0.lanewise(VectorOperators.XOR, low.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + i * step))
            .lanewise(VectorOperators.XOR, high.selectFrom(ByteVector.fromArray(SPECIES, tables, base0 + i * step + LENGTH))));
      }
      acc0.intoArray(out0, p);
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
