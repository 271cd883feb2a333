package dev.narvault.core.erasure;

import java.util.Arrays;

/**
 * Matrices over GF(2^8) for the code: the systematic encoding matrix (Backblaze's construction:
 * a Vandermonde matrix times the inverse of its top square) and inversion for decoding.
 * Rows are {@code byte[]}; the matrices are tiny (at most 256×256), built once per code or per
 * erasure pattern, never in a hot loop.
 */
final class CodingMatrix {
  private CodingMatrix() {}

  /**
   * The {@code (k+m) × k} systematic encoding matrix: rows {@code 0..k-1} are the identity, rows
   * {@code k..k+m-1} give the parity.
   */
  static byte[][] encoding(int dataFragmentCount, int totalFragmentCount) {
    byte[][] vandermonde = new byte[totalFragmentCount][dataFragmentCount];
    for (int r = 0; r < totalFragmentCount; r++) {
      for (int c = 0; c < dataFragmentCount; c++) {
        vandermonde[r][c] = GaloisField.power((byte) r, c);
      }
    }
    byte[][] top = new byte[dataFragmentCount][];
    System.arraycopy(vandermonde, 0, top, 0, dataFragmentCount);
    return multiply(vandermonde, invert(top));
  }

  static byte[][] multiply(byte[][] a, byte[][] b) {
    int rows = a.length;
    int inner = b.length;
    int cols = b[0].length;
    byte[][] out = new byte[rows][cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        byte v = 0;
        for (int i = 0; i < inner; i++) {
          v ^= GaloisField.multiply(a[r][i], b[i][c]);
        }
        out[r][c] = v;
      }
    }
    return out;
  }

  /** Inverts a square matrix by Gauss-Jordan elimination; singular matrices are an error. */
  static byte[][] invert(byte[][] matrix) {
    int n = matrix.length;
    byte[][] work = new byte[n][2 * n];
    for (int r = 0; r < n; r++) {
      if (matrix[r].length != n) {
        throw new IllegalArgumentException("matrix is not square: row " + r + " has " + matrix[r].length);
      }
      System.arraycopy(matrix[r], 0, work[r], 0, n);
      work[r][n + r] = 1;
    }
    for (int col = 0; col < n; col++) {
      int pivot = col;
      while (pivot < n && work[pivot][col] == 0) {
        pivot++;
      }
      if (pivot == n) {
        throw new IllegalArgumentException("matrix is singular");
      }
      byte[] tmp = work[pivot];
      work[pivot] = work[col];
      work[col] = tmp;
      byte scale = work[col][col];
      if (scale != 1) {
        for (int c = 0; c < 2 * n; c++) {
          work[col][c] = GaloisField.divide(work[col][c], scale);
        }
      }
      for (int r = 0; r < n; r++) {
        byte factor = work[r][col];
        if (r != col && factor != 0) {
          for (int c = 0; c < 2 * n; c++) {
            work[r][c] ^= GaloisField.multiply(factor, work[col][c]);
          }
        }
      }
    }
    byte[][] inverse = new byte[n][];
    for (int r = 0; r < n; r++) {
      inverse[r] = Arrays.copyOfRange(work[r], n, 2 * n);
    }
    return inverse;
  }
}
