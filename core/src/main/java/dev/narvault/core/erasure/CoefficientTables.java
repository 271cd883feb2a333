package dev.narvault.core.erasure;

/**
 * A coefficient matrix ({@code rows × inputs}) prepared for the nibble-table multiply: for every
 * coefficient c, the products {@code c·x} for the low nibbles x = 0..15 and {@code c·(x<<4)} for
 * the high nibbles, each 16-entry table repeated to fill one vector of {@code vectorLength} bytes.
 *
 * <p>Layout: rows are taken in groups of {@link #GROUP} (the last group may be narrower), the
 * outputs {@link VectorKernel} makes in one pass. Within a group the tables of one input for
 * all the group's rows are adjacent, so the kernel reaches every table of an input from one base
 * with constant offsets: entry (row r, input i) starts at
 * {@code (g·inputs + i·w + (r − g)) · 2 · vectorLength}, g being the group's first row and w its
 * width; low table first.
 */
final class CoefficientTables {
  /** Outputs per group (per pass over the inputs). */
  static final int GROUP = 4;

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

  /** Rows in the group starting at row {@code first}. */
  int groupWidth(int first) {
    return Math.min(GROUP, rows - first);
  }

  /** Where the low table of (row, input) starts. */
  int offset(int row, int input) {
    int first = row - row % GROUP;
    return (first * inputs + input * groupWidth(first) + (row - first)) * 2 * vectorLength;
  }
}
