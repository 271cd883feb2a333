package dev.narvault.cli;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import dev.narvault.core.erasure.VectorCodec;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench codec}: a few seconds of measurement, no JMH, printing the codecs' speed
 * and their ratio on this machine so an operator can pick k and m with real numbers. Rounds of
 * the two codecs alternate so that a noisy neighbour slows both alike; medians are reported.
 */
@Command(name = "codec", mixinStandardHelpOptions = true,
    header = "Measure the erasure codecs (a few seconds).",
    description = {"Measures the erasure codecs on this machine (a few seconds).",
        "Prints MB/s of data bytes for encode and decode, the vector codec's speed-up over",
        "Backblaze JavaReedSolomon, and a memory copy of the same bytes as the limit.",
        "For publishable numbers use the JMH benchmarks (docs/performance.md)."})
final class BenchCodecCommand implements Callable<Integer> {
  @Option(names = "--codes", split = ",", defaultValue = "10+4,6+3,17+3,20+10,30+30",
      description = "Codes as k+m, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> codes;

  @Option(names = "--fragment-size", defaultValue = "1MiB", converter = ByteSize.class,
      description = "Bytes per fragment per call (default: ${DEFAULT-VALUE}).")
  long fragmentSize;

  @Option(names = "--rounds", defaultValue = "5", description = "Measured rounds per cell (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--round-millis", defaultValue = "60", description = "Length of one round (default: ${DEFAULT-VALUE} ms).")
  int roundMillis;

  private final PrintStream out;

  BenchCodecCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (fragmentSize < 64 || fragmentSize > (256 << 20)) {
      throw new IllegalArgumentException("--fragment-size must be between 64 B and 256 MiB, got " + fragmentSize);
    }
    if (rounds < 1 || roundMillis < 1) {
      throw new IllegalArgumentException("--rounds and --round-millis must be >= 1");
    }
    out.printf(Locale.ROOT, "codec benchmark: fragment %d bytes, %d rounds of %d ms, %s, %s%n",
        fragmentSize, rounds, roundMillis, VectorCodec.kernel(), Runtime.version());
    out.println("code        operation                 Backblaze MB/s   vector MB/s   speed-up   copy MB/s");
    for (String code : codes) {
      int[] km = parseCode(code);
      for (Operation op : Operation.values()) {
        double[] speeds = measure(km[0], km[1], (int) fragmentSize, op);
        out.printf(Locale.ROOT, "RS(%d,%d)%s %-24s %14.0f %13.0f %9.1fx %11.0f%n", km[0], km[1],
            " ".repeat(Math.max(0, 4 - code.length() + 1)), op.label, speeds[0], speeds[1],
            speeds[1] / speeds[0], speeds[2]);
      }
    }
    return 0;
  }

  enum Operation {
    ENCODE("encode"), DECODE_ONE("decode, 1 data missing"), DECODE_M("decode, m data missing");

    final String label;

    Operation(String label) {
      this.label = label;
    }
  }

  static int[] parseCode(String code) {
    String[] parts = code.strip().split("\\+");
    try {
      if (parts.length == 2) {
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
      }
    } catch (NumberFormatException e) {
      // fall through to the message below
    }
    throw new IllegalArgumentException("code must look like k+m (e.g. 10+4), got '" + code + "'");
  }

  /** Median MB/s of Backblaze, vector, and a memory copy of the k data fragments. */
  private double[] measure(int k, int m, int size, Operation op) throws NotEnoughFragmentsException {
    Codec backblaze = Codecs.create(Codecs.Kind.BACKBLAZE, k, m);
    Codec vector = Codecs.create(Codecs.Kind.VECTOR, k, m);
    byte[][] fragments = new byte[k + m][size];
    Random random = new Random(1);
    for (int i = 0; i < k; i++) {
      random.nextBytes(fragments[i]);
    }
    vector.encodeParity(fragments, 0, size);
    boolean[] present = new boolean[k + m];
    Arrays.fill(present, true);
    int missing = op == Operation.ENCODE ? 0 : op == Operation.DECODE_ONE ? 1 : Math.min(m, k);
    Arrays.fill(present, 0, missing, false);
    byte[][] copies = new byte[k][size];
    List<Double> bb = new ArrayList<>();
    List<Double> vec = new ArrayList<>();
    List<Double> copy = new ArrayList<>();
    for (int round = -1; round < rounds; round++) {
      double b = run(backblaze, fragments, present, op, size);
      double v = run(vector, fragments, present, op, size);
      double c = runCopy(fragments, copies, size);
      if (round >= 0) {
        bb.add(b);
        vec.add(v);
        copy.add(c);
      }
    }
    double dataBytes = (double) k * size;
    return new double[] {median(bb) * dataBytes / 1e6, median(vec) * dataBytes / 1e6, median(copy) * dataBytes / 1e6};
  }

  /** Calls per second over one round. */
  private double run(Codec codec, byte[][] fragments, boolean[] present, Operation op, int size)
      throws NotEnoughFragmentsException {
    long deadline = System.nanoTime() + roundMillis * 1_000_000L;
    long start = System.nanoTime();
    long calls = 0;
    do {
      if (op == Operation.ENCODE) {
        codec.encodeParity(fragments, 0, size);
      } else {
        codec.reconstruct(fragments, present, 0, size);
      }
      calls++;
    } while (System.nanoTime() < deadline);
    return calls / ((System.nanoTime() - start) / 1e9);
  }

  private double runCopy(byte[][] fragments, byte[][] copies, int size) {
    long deadline = System.nanoTime() + roundMillis * 1_000_000L;
    long start = System.nanoTime();
    long calls = 0;
    do {
      for (int i = 0; i < copies.length; i++) {
        System.arraycopy(fragments[i], 0, copies[i], 0, size);
      }
      calls++;
    } while (System.nanoTime() < deadline);
    return calls / ((System.nanoTime() - start) / 1e9);
  }

  private static double median(List<Double> values) {
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
