package dev.narvault.core.erasure;

/**
 * Arithmetic in GF(2^8) with the generating polynomial x⁸+x⁴+x³+x²+1 (0x11D), the field of
 * Backblaze JavaReedSolomon. Addition is XOR; multiplication goes through log/exp tables, and
 * {@link #MUL} holds every product for the scalar paths.
 */
final class GaloisField {
  static final int POLYNOMIAL = 0x11D;
  /** {@code LOG[a]} for a ≠ 0; generator 2. */
  static final int[] LOG = new int[256];
  /** {@code EXP[i] = 2^i}, doubled in length so that {@code EXP[LOG[a] + LOG[b]]} needs no modulo. */
  static final byte[] EXP = new byte[510];
  /** {@code MUL[a * 256 + b] = a·b}. */
  static final byte[] MUL = new byte[256 * 256];

  static {
    int x = 1;
    for (int i = 0; i < 255; i++) {
      EXP[i] = (byte) x;
      EXP[i + 255] = (byte) x;
      LOG[x] = i;
      x <<= 1;
      if (x >= 256) {
        x ^= POLYNOMIAL;
      }
    }
    for (int a = 0; a < 256; a++) {
      for (int b = 0; b < 256; b++) {
        MUL[a * 256 + b] = slowMultiply(a, b);
      }
    }
  }

  private GaloisField() {}

  private static byte slowMultiply(int a, int b) {
    return a == 0 || b == 0 ? 0 : EXP[LOG[a] + LOG[b]];
  }

  static byte multiply(byte a, byte b) {
    return MUL[(a & 0xff) * 256 + (b & 0xff)];
  }

  static byte divide(byte a, byte b) {
    if (b == 0) {
      throw new ArithmeticException("division by zero in GF(2^8)");
    }
    if (a == 0) {
      return 0;
    }
    return EXP[LOG[a & 0xff] - LOG[b & 0xff] + 255];
  }

  /** {@code a^n}, with {@code a^0 = 1} for every a (also 0), as Backblaze defines it. */
  static byte power(byte a, int n) {
    if (n == 0) {
      return 1;
    }
    if (a == 0) {
      return 0;
    }
    return EXP[(LOG[a & 0xff] * n) % 255];
  }
}
