package dev.narvault.bench;

import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.erasure.NotEnoughFragmentsException;
import dev.narvault.core.erasure.ParallelCodec;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One invocation codes {@code k} data fragments of {@code fragmentSize} bytes; throughput in data
 * bytes is {@code ops/s · k · fragmentSize}. {@link CopyBenchmark} measures the limit, a memory
 * copy of the same bytes, in the same run.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class CodecBenchmark {
  @Param({"backblaze", "vector"})
  public String codec;

  @Param({"10+4", "17+3", "6+3", "20+10", "30+30"})
  public String code;

  @Param({"65536", "1048576"})
  public int fragmentSize;

  /** 1 = the codec alone; more = {@link ParallelCodec} over that many threads. */
  @Param({"1"})
  public int threads;

  private Codec coder;
  private ExecutorService pool;
  private byte[][] fragments;
  private boolean[] oneMissing;
  private boolean[] mMissing;

  @Setup(Level.Trial)
  public void setUp() {
    String[] km = code.split("\\+");
    int k = Integer.parseInt(km[0]);
    int m = Integer.parseInt(km[1]);
    Codec base = Codecs.create(Codecs.Kind.parse(codec), k, m);
    if (threads > 1) {
      pool = Executors.newFixedThreadPool(threads - 1);
      coder = new ParallelCodec(base, pool, threads, ParallelCodec.DEFAULT_MIN_PART);
    } else {
      coder = base;
    }
    Random random = new Random(1);
    fragments = new byte[k + m][fragmentSize];
    for (int i = 0; i < k; i++) {
      random.nextBytes(fragments[i]);
    }
    coder.encodeParity(fragments, 0, fragmentSize);
    oneMissing = new boolean[k + m];
    Arrays.fill(oneMissing, true);
    oneMissing[0] = false;
    mMissing = new boolean[k + m];
    Arrays.fill(mMissing, true);
    for (int i = 0; i < Math.min(m, k); i++) {
      mMissing[i] = false;
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }

  @Benchmark
  public byte[][] encode() {
    coder.encodeParity(fragments, 0, fragmentSize);
    return fragments;
  }

  @Benchmark
  public byte[][] decodeOneMissing() throws NotEnoughFragmentsException {
    coder.reconstruct(fragments, oneMissing, 0, fragmentSize);
    return fragments;
  }

  @Benchmark
  public byte[][] decodeMMissing() throws NotEnoughFragmentsException {
    coder.reconstruct(fragments, mMissing, 0, fragmentSize);
    return fragments;
  }
}
