package dev.narvault.core.erasure;

/**
 * A coefficient matrix ({@code rows × inputs}) prepared for the nibble-table multiply: for every
 * coefficient c, the products {@code c·x} for the low nibbles x = 0..15 and {@code c·(x<<4)} for
 * the high nibbles, each 16-entry table repeated to fill one vector of {@code vectorLength} bytes.
 * Layout: entry (row r, input i) starts at {@code (r·inputs + i) · 2 · vectorLength}, low table
 * first.
 */
final class CoefficientTables {
  final int rows;
  final int inputs;
  final int vectorLength;
  final byte[][] coefficients;
  final byte[] tables;

  CoefficientTables(byte[][] coefficients, int vectorLength) {
    this.rows = coefficients.length;
    this.inputs = coefficients[0].length;
    this.vectorLength = vectorLength;
    this.coefficients = coefficients;
    this.tables = new byte[rows * inputs * 2 * vectorLength];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < inputs; i++) {
        int base = offset(r, i);
        byte c = coefficients[r][i];
        for (int lane = 0; lane < vectorLength; lane++) {
          int x = lane & 15;
          tables[base + lane] = GaloisField.multiply(c, (byte) x);
          tables[base + vectorLength + lane] = GaloisField.multiply(c, (byte) (x << 4));
        }
      }
    }
  }

  int offset(int row, int input) {
    return (row * inputs + input) * 2 * vectorLength;
  }
}
