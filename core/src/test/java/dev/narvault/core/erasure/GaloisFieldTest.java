package dev.narvault.core.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.backblaze.erasure.Galois;
import org.junit.jupiter.api.Test;

/** Field laws over every byte value, and agreement with Backblaze's field. */
class GaloisFieldTest {
  @Test
  void multiply_agreesWithBackblazeForEveryPair() {
    for (int a = 0; a < 256; a++) {
      for (int b = 0; b < 256; b++) {
        assertEquals(Galois.multiply((byte) a, (byte) b), GaloisField.multiply((byte) a, (byte) b), a + "*" + b);
      }
    }
  }

  @Test
  void fieldLaws_holdForEveryValue() {
    for (int a = 0; a < 256; a++) {
      byte x = (byte) a;
      assertEquals(x, GaloisField.multiply(x, (byte) 1), "identity");
      assertEquals(0, GaloisField.multiply(x, (byte) 0), "zero");
      for (int b = 1; b < 256; b++) {
        byte y = (byte) b;
        assertEquals(GaloisField.multiply(x, y), GaloisField.multiply(y, x), "commutative");
        assertEquals(x, GaloisField.multiply(GaloisField.divide(x, y), y), "division inverts multiplication");
      }
    }
    // Distributivity and associativity over a stride of triples (all 16M would be slow).
    for (int a = 0; a < 256; a += 3) {
      for (int b = 0; b < 256; b += 5) {
        for (int c = 0; c < 256; c += 7) {
          byte x = (byte) a;
          byte y = (byte) b;
          byte z = (byte) c;
          assertEquals(GaloisField.multiply(x, (byte) (y ^ z)),
              (byte) (GaloisField.multiply(x, y) ^ GaloisField.multiply(x, z)), "distributive");
          assertEquals(GaloisField.multiply(GaloisField.multiply(x, y), z),
              GaloisField.multiply(x, GaloisField.multiply(y, z)), "associative");
        }
      }
    }
    assertThrows(ArithmeticException.class, () -> GaloisField.divide((byte) 1, (byte) 0));
  }

  @Test
  void power_agreesWithBackblazeIncludingZeroToTheZero() {
    for (int a = 0; a < 256; a++) {
      for (int n = 0; n < 300; n += 7) {
        assertEquals(Galois.exp((byte) a, n), GaloisField.power((byte) a, n), a + "^" + n);
      }
    }
  }

  @Test
  void invert_timesOriginalIsIdentity() {
    byte[][] matrix = CodingMatrix.encoding(5, 9);
    byte[][] square = {matrix[1], matrix[3], matrix[5], matrix[6], matrix[8]};
    byte[][] product = CodingMatrix.multiply(square, CodingMatrix.invert(square));
    for (int r = 0; r < 5; r++) {
      byte[] expected = new byte[5];
      expected[r] = 1;
      assertArrayEquals(expected, product[r]);
    }
    assertThrows(IllegalArgumentException.class, () -> CodingMatrix.invert(new byte[][] {{1, 2}, {1, 2}}));
  }
}
