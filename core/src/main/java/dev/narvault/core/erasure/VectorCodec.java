package dev.narvault.core.erasure;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fast {@link Codec}: the same code as {@link BackblazeCodec} (byte for byte), computed with
 * the JDK Vector API by {@link VectorKernel}. Decoding inverts the sub-matrix of the first
 * {@code k} present fragments once per erasure pattern and caches the resulting coefficients.
 */
public final class VectorCodec implements Codec {
  /** Bounds the decode cache; erasure patterns are few in practice (a handful of holders down). */
  private static final int MAX_CACHED_PATTERNS = 4096;

  private final int dataFragmentCount;
  private final int parityFragmentCount;
  private final byte[][] encoding;
  private final CoefficientTables parity;
  private final ConcurrentHashMap<Pattern, CoefficientTables> decodeCache = new ConcurrentHashMap<>();

  /** An erasure pattern: which fragments are read and which are rebuilt. */
  private record Pattern(String inputs, String outputs) {}

  public VectorCodec(int dataFragmentCount, int parityFragmentCount) {
    CodecArguments.checkCounts(dataFragmentCount, parityFragmentCount);
    this.dataFragmentCount = dataFragmentCount;
    this.parityFragmentCount = parityFragmentCount;
    this.encoding = CodingMatrix.encoding(dataFragmentCount, dataFragmentCount + parityFragmentCount);
    this.parity = new CoefficientTables(
        Arrays.copyOfRange(encoding, dataFragmentCount, encoding.length), VectorKernel.LENGTH);
  }

  /** The kernel this JVM runs (vector width, vectors per step, outputs per pass), for reports. */
  public static String kernel() {
    return VectorKernel.describe();
  }

  /**
   * Compiles the kernel before first use (see {@code VectorKernel.warmUp}): long-running commands
   * call it at start, so their first requests do not run C1 code a hundred times slower. Once per
   * JVM; returns the milliseconds it took (0 when already done).
   */
  public static long warmUp() {
    return VectorKernel.warmUp(5_000_000_000L) / 1_000_000;
  }

  @Override
  public int dataFragmentCount() {
    return dataFragmentCount;
  }

  @Override
  public int parityFragmentCount() {
    return parityFragmentCount;
  }

  @Override
  public String name() {
    return "vector";
  }

  @Override
  public void encodeParity(byte[][] fragments, int offset, int length) {
    CodecArguments.checkFragments(this, fragments, null, offset, length);
    byte[][] data = Arrays.copyOfRange(fragments, 0, dataFragmentCount);
    byte[][] parityOut = Arrays.copyOfRange(fragments, dataFragmentCount, fragments.length);
    VectorKernel.multiply(parity, data, parityOut, offset, length);
  }

  @Override
  public void reconstruct(byte[][] fragments, boolean[] present, int offset, int length)
      throws NotEnoughFragmentsException {
    int available = CodecArguments.checkFragments(this, fragments, present, offset, length);
    if (available < dataFragmentCount) {
      throw new NotEnoughFragmentsException(available, dataFragmentCount);
    }
    int total = fragments.length;
    int[] inputs = new int[dataFragmentCount];
    StringBuilder inputKey = new StringBuilder();
    for (int i = 0, n = 0; n < dataFragmentCount; i++) {
      if (present[i]) {
        inputs[n++] = i;
        inputKey.append(i).append(',');
      }
    }
    int wantedCount = 0;
    StringBuilder outputKey = new StringBuilder();
    for (int i = 0; i < total; i++) {
      if (!present[i] && fragments[i] != null) {
        wantedCount++;
        outputKey.append(i).append(',');
      }
    }
    if (wantedCount == 0) {
      return;
    }
    byte[][] in = new byte[dataFragmentCount][];
    for (int n = 0; n < dataFragmentCount; n++) {
      in[n] = fragments[inputs[n]];
    }
    byte[][] out = new byte[wantedCount][];
    int[] wanted = new int[wantedCount];
    for (int i = 0, w = 0; i < total; i++) {
      if (!present[i] && fragments[i] != null) {
        wanted[w] = i;
        out[w++] = fragments[i];
      }
    }
    Pattern pattern = new Pattern(inputKey.toString(), outputKey.toString());
    CoefficientTables tables = decodeCache.get(pattern);
    if (tables == null) {
      if (decodeCache.size() >= MAX_CACHED_PATTERNS) {
        decodeCache.clear();
      }
      tables = decodeCache.computeIfAbsent(pattern, p -> decodeTables(inputs, wanted));
    }
    VectorKernel.multiply(tables, in, out, offset, length);
  }

  /**
   * Rows that compute each wanted fragment from the chosen inputs: invert the rows of the
   * encoding matrix for the inputs (giving the data from the inputs), then multiply by the wanted
   * fragments' encoding rows (identity rows for data, parity rows for parity).
   */
  private CoefficientTables decodeTables(int[] inputs, int[] wanted) {
    byte[][] sub = new byte[dataFragmentCount][];
    for (int n = 0; n < dataFragmentCount; n++) {
      sub[n] = encoding[inputs[n]];
    }
    byte[][] decode = CodingMatrix.invert(sub);
    byte[][] wantedRows = new byte[wanted.length][];
    for (int w = 0; w < wanted.length; w++) {
      wantedRows[w] = encoding[wanted[w]];
    }
    return new CoefficientTables(CodingMatrix.multiply(wantedRows, decode), VectorKernel.LENGTH);
  }
}
