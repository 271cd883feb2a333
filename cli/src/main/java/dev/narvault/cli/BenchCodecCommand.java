package dev.narvault.cli;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import dev.narvault.core.erasure.VectorCodec;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench codec}: a few seconds of measurement, no JMH, printing the codecs' speed
 * and their ratio on this machine so an operator can pick k and m with real numbers. Rounds of
 * the codecs alternate so that a noisy neighbour slows them alike; medians are reported. The
 * vector kernel is compiled before anything is timed ({@link VectorCodec#warmUp()}).
 */
@Command(name = "codec", mixinStandardHelpOptions = true,
    header = "Measure the erasure codecs (a few seconds).",
    description = {"Measures the erasure codecs on this machine (a few seconds). Prints MB/s of data bytes (k "
            + "fragments per call) for encode and decode, the vector codec's speed-up over Backblaze "
            + "JavaReedSolomon, and a memory copy of the same bytes as the limit. The first line names the "
            + "vector kernel this JVM chose and how long it took to compile. For publishable numbers use the "
            + "JMH benchmarks or bench/isal-compare.sh (docs/performance.md).",
        ""})
final class BenchCodecCommand implements Callable<Integer> {
  @Option(names = "--codes", split = ",", defaultValue = "10+4,6+3,17+3,20+10,30+30",
      description = "Codes as k+m, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> codes;

  @Option(names = "--fragment-size", split = ",", defaultValue = "1MiB", converter = ByteSize.class,
      description = "Bytes per fragment per call, comma-separated for several (default: ${DEFAULT-VALUE}).")
  List<Long> fragmentSizes;

  @Option(names = "--operations", split = ",", defaultValue = "encode,decode-1,decode-m",
      description = "Operations, comma-separated: encode, decode-1 (one data fragment rebuilt), "
          + "decode-m (m data fragments rebuilt) (default: ${DEFAULT-VALUE}).")
  List<String> operations;

  @Option(names = "--vector-only", description = "Measure only the vector codec (no Backblaze, no copy).")
  boolean vectorOnly;

  @Option(names = "--shuffle", paramLabel = "SEED",
      description = "Measure the cells (code, size, operation) in an order shuffled with this seed.")
  Long shuffleSeed;

  @Option(names = "--tsv", description = "Tab-separated output for scripts: codec k m size operation median min max.")
  boolean tsv;

  @Option(names = "--rounds", defaultValue = "5", description = "Measured rounds per cell (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--round-millis", defaultValue = "60", description = "Length of one round (default: ${DEFAULT-VALUE} ms).")
  int roundMillis;

  private final PrintStream out;

  BenchCodecCommand(PrintStream out) {
    this.out = out;
  }

  /** One measurement: a code, a fragment size and an operation. */
  private record Cell(int k, int m, int size, Operation op) {}

  @Override
  public Integer call() throws Exception {
    for (long size : fragmentSizes) {
      if (size < 64 || size > (256 << 20)) {
        throw new IllegalArgumentException("--fragment-size must be between 64 B and 256 MiB, got " + size);
      }
    }
    if (rounds < 1 || roundMillis < 1) {
      throw new IllegalArgumentException("--rounds and --round-millis must be >= 1");
    }
    List<Cell> cells = new ArrayList<>();
    for (String code : codes) {
      int[] km = parseCode(code);
      for (long size : fragmentSizes) {
        for (String op : operations) {
          cells.add(new Cell(km[0], km[1], (int) size, Operation.parse(op)));
        }
      }
    }
    if (shuffleSeed != null) {
      Collections.shuffle(cells, new Random(shuffleSeed));
    }
    long warmUpMillis = VectorCodec.warmUp();
    String kernel = VectorCodec.kernel();
    if (tsv) {
      out.printf(Locale.ROOT, "# kernel\t%s\t%d ms to compile\t%s%n", kernel, warmUpMillis, Runtime.version());
      out.println("# codec\tk\tm\tsize\toperation\tmedian MB/s\tmin MB/s\tmax MB/s");
    } else {
      out.printf(Locale.ROOT, "codec benchmark: %d rounds of %d ms, %s (compiled in %d ms), %s%n",
          rounds, roundMillis, kernel, warmUpMillis, Runtime.version());
      out.println(vectorOnly ? "code      fragment  operation                  vector MB/s"
          : "code      fragment  operation                 Backblaze MB/s   vector MB/s   speed-up   copy MB/s");
    }
    for (Cell cell : cells) {
      Speeds[] speeds = measure(cell);
      if (tsv) {
        String[] names = {"backblaze", "vector", "copy"};
        for (int c = 0; c < names.length; c++) {
          if (speeds[c] != null) {
            out.printf(Locale.ROOT, "%s\t%d\t%d\t%d\t%s\t%.0f\t%.0f\t%.0f%n", names[c], cell.k, cell.m,
                cell.size, cell.op.name, speeds[c].median, speeds[c].min, speeds[c].max);
          }
        }
      } else if (vectorOnly) {
        out.printf(Locale.ROOT, "%-9s %-9s %-24s %13.0f%n", "RS(" + cell.k + "," + cell.m + ")",
            ByteSize.format(cell.size), cell.op.label, speeds[1].median);
      } else {
        out.printf(Locale.ROOT, "%-9s %-9s %-24s %14.0f %13.0f %9.1fx %11.0f%n", "RS(" + cell.k + "," + cell.m + ")",
            ByteSize.format(cell.size), cell.op.label, speeds[0].median, speeds[1].median,
            speeds[1].median / speeds[0].median, speeds[2].median);
      }
    }
    return 0;
  }

  enum Operation {
    ENCODE("encode", "encode"),
    DECODE_ONE("decode-1", "decode, 1 data missing"),
    DECODE_M("decode-m", "decode, m data missing");

    final String name;
    final String label;

    Operation(String name, String label) {
      this.name = name;
      this.label = label;
    }

    static Operation parse(String name) {
      for (Operation op : values()) {
        if (op.name.equals(name.strip())) {
          return op;
        }
      }
      throw new IllegalArgumentException("unknown operation '" + name + "', expected encode, decode-1 or decode-m");
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

  /** Median, lowest and highest MB/s over the measured rounds. */
  private record Speeds(double median, double min, double max) {
    static Speeds of(List<Double> callsPerSecond, double bytesPerCall) {
      double[] v = callsPerSecond.stream().mapToDouble(c -> c * bytesPerCall / 1e6).sorted().toArray();
      double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
      return new Speeds(median, v[0], v[v.length - 1]);
    }
  }

  /** Backblaze, vector and a memory copy of the k data fragments; Backblaze and copy null with --vector-only. */
  private Speeds[] measure(Cell cell) throws NotEnoughFragmentsException {
    int k = cell.k;
    int m = cell.m;
    int size = cell.size;
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
    int missing = cell.op == Operation.ENCODE ? 0 : cell.op == Operation.DECODE_ONE ? 1 : Math.min(m, k);
    Arrays.fill(present, 0, missing, false);
    byte[][] copies = vectorOnly ? null : new byte[k][size];
    List<Double> bb = new ArrayList<>();
    List<Double> vec = new ArrayList<>();
    List<Double> copy = new ArrayList<>();
    for (int round = -1; round < rounds; round++) {
      double b = vectorOnly ? 0 : run(backblaze, fragments, present, cell.op, size);
      double v = run(vector, fragments, present, cell.op, size);
      double c = vectorOnly ? 0 : runCopy(fragments, copies, size);
      if (round >= 0) {
        bb.add(b);
        vec.add(v);
        copy.add(c);
      }
    }
    double dataBytes = (double) k * size;
    return new Speeds[] {vectorOnly ? null : Speeds.of(bb, dataBytes), Speeds.of(vec, dataBytes),
        vectorOnly ? null : Speeds.of(copy, dataBytes)};
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
}
