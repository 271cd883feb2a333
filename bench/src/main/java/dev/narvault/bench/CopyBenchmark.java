package dev.narvault.bench;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The limit a codec is compared with: {@code System.arraycopy} of the {@code k} data fragments of
 * {@link CodecBenchmark}'s cells, once. Same parameters, so the report can divide cell by cell.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class CopyBenchmark {
  @Param({"10+4", "17+3", "6+3", "20+10", "30+30"})
  public String code;

  @Param({"65536", "1048576"})
  public int fragmentSize;

  private byte[][] sources;
  private byte[][] copies;

  @Setup(Level.Trial)
  public void setUp() {
    int k = Integer.parseInt(code.split("\\+")[0]);
    sources = new byte[k][fragmentSize];
    copies = new byte[k][fragmentSize];
    Random random = new Random(1);
    for (byte[] s : sources) {
      random.nextBytes(s);
    }
  }

  @Benchmark
  public byte[][] copy() {
    for (int i = 0; i < sources.length; i++) {
      System.arraycopy(sources[i], 0, copies[i], 0, fragmentSize);
    }
    return copies;
  }
}
