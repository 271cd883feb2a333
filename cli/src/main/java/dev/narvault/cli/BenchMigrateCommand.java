package dev.narvault.cli;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarNode;
import dev.narvault.core.nix.NarWriter;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench migrate}: the migration's throughput against a plain S3 GET of the same
 * objects, measured in the same run on loopback (S3Proxy, holders, coordinator in this process).
 */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    header = "Measure migrate against plain S3 reads of the same NARs (loopback, a minute or two).",
    description = {"Generates a cache of --nars NARs of 1-4 MiB (xz) in an embedded S3, starts a coordinator and "
            + "--holders holders on loopback, and measures, in this order: plain S3 GETs of every NAR object "
            + "(as many at once as migrate fetches), the same GETs with the NarHash check migrate must do "
            + "(decompression), migrate with RS(k,m) (after the codec's kernel is compiled and a warm-up "
            + "migration of the same "
            + "NARs, or of a NAR of a quarter of --big-nar, in a cluster of its own), and both "
            + "reads again. Prints stored MiB/s for each and migrate's ratio to the mean of each kind of read.",
        ""})
final class BenchMigrateCommand implements Callable<Integer> {
  @Option(names = "--nars", defaultValue = "64", description = "NARs to generate (default: ${DEFAULT-VALUE}).")
  int nars;

  @Option(names = "--holders", defaultValue = "14", description = "Holders (default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--pack-size", defaultValue = "16MiB", converter = ByteSize.class,
      description = "Pack size (default: ${DEFAULT-VALUE}; smaller than the data, so that packs overlap).")
  long packSize;

  @Option(names = "--big-nar", defaultValue = "0", converter = ByteSize.class,
      description = "Instead of many small NARs, one NAR of this size (e.g. 1GiB), zstd-compressed, "
          + "streamed to disk (not held in memory).")
  long bigNar;

  @Option(names = "--big-nars", defaultValue = "1",
      description = "With --big-nar, how many such NARs (default: ${DEFAULT-VALUE}); with more than one, the "
          + "next NAR's fetch overlaps the previous pack's sealing, as in a long migration.")
  int bigNars;

  @Option(names = "--k", defaultValue = "10", description = "Data fragments (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--m", defaultValue = "4", description = "Parity fragments (default: ${DEFAULT-VALUE}).")
  int m;

  private final PrintStream out;
  /** Reads at once in the baselines: as many as migrate's fetch window (2 × cores, at least 4). */
  private static final int READERS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

  BenchMigrateCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (nars < 1 || bigNars < 1 || holders < k + m || k < 1 || m < 1) {
      throw new IllegalArgumentException("need --nars >= 1, --big-nars >= 1 and --holders >= k + m");
    }
    Path dir = Files.createTempDirectory("narvault-bench-migrate-");
    try (BenchCluster cluster = BenchCluster.start(dir)) {
      S3ObjectSource objects = cluster.objects;
      List<CacheGenerator.GeneratedPath> paths = cluster.generate(nars, bigNar, bigNars);
      long stored = paths.stream().mapToLong(CacheGenerator.GeneratedPath::fileSize).sum();
      out.printf(Locale.ROOT, "generated %d NARs: %.1f MiB of NARs, %.1f MiB stored (%s)%n", paths.size(),
          paths.stream().mapToLong(CacheGenerator.GeneratedPath::narSize).sum() / 1048576.0, stored / 1048576.0,
          bigNar > 0 ? "zstd" : "xz");
      cluster.startArchive(holders, 4L << 30);

      // Warm-up, not timed: the JIT compiles xz, hashing, the codec and the HTTP paths once.
      verifiedRead(objects, paths, stored);
      double before = plainRead(objects, paths, stored);
      double verifiedBefore = verifiedRead(objects, paths, stored);
      // Warm-up: the same migration (a quarter of a big NAR) in a cluster of its own, after the
      // codec's kernel is compiled as migrate compiles it at start. Warmed over an eighth of the
      // NARs only, the JIT still compiled for 2 CPU-seconds of the 3 s measured, and a cold vector
      // kernel runs as C1 code, a hundred times slower.
      dev.narvault.core.erasure.VectorCodec.warmUp();
      warmUpElsewhere(dir.resolve("warm-up"), bigNar / 4);
      java.util.Map<Long, ThreadCpu> cpuBefore = ThreadCpu.now();
      long processCpuBefore = ThreadCpu.process();
      long gcBefore = ThreadCpu.gcMillis();
      long jitBefore = java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
      long t0 = System.nanoTime();
      MigrationSummary summary = migration(cluster, 0).run();
      double migrate = summary.bytesArchived() / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
      java.util.Map<String, Double> cpu = ThreadCpu.secondsByGroup(cpuBefore, ThreadCpu.now());
      double processCpu = (ThreadCpu.process() - processCpuBefore) / 1e9;
      double gc = (ThreadCpu.gcMillis() - gcBefore) / 1e3;
      double jit = (java.lang.management.ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jitBefore)
          / 1e3;
      double after = plainRead(objects, paths, stored);
      double verifiedAfter = verifiedRead(objects, paths, stored);
      double baseline = (before + after) / 2;
      double verified = (verifiedBefore + verifiedAfter) / 2;
      out.printf(Locale.ROOT, "RS(%d,%d), packs of %.0f MiB, %d cores; rates in stored MiB/s%n", k, m,
          packSize / 1048576.0, Runtime.getRuntime().availableProcessors());
      out.println("what                               MiB/s   to plain GET   to GET + check");
      out.printf(Locale.ROOT, "plain S3 GET, before            %8.1f%n", before);
      out.printf(Locale.ROOT, "S3 GET + NarHash check, before  %8.1f%n", verifiedBefore);
      out.printf(Locale.ROOT, "migrate (%d NARs, warm)          %6.1f   %10.2fx   %12.2fx%n",
          summary.narsArchived(), migrate, migrate / baseline, migrate / verified);
      out.printf(Locale.ROOT, "plain S3 GET, after             %8.1f%n", after);
      out.printf(Locale.ROOT, "S3 GET + NarHash check, after   %8.1f   %10.2fx%n", verifiedAfter,
          verified / baseline);
      out.println("migrate: " + summary);
      out.printf(Locale.ROOT, "CPU seconds during migrate: %.2f (GC pauses %.2f s, JIT compiling %.2f s elapsed); "
          + "by threads still running: %s%n",
          processCpu, gc, jit, cpu.entrySet().stream()
          .map(e -> String.format(Locale.ROOT, "%s %.2f", e.getKey(), e.getValue()))
          .collect(java.util.stream.Collectors.joining(", ")));
      return 0;
    }
  }

  /**
   * One NAR of {@code size} bytes (a single regular file, half random and half repeated, so it
   * compresses about 2:1), zstd level 1, written through a file into S3 with its signed narinfo.
   */
  static CacheGenerator.GeneratedPath generateBig(S3ObjectSource objects, NixSecretKey cacheKey, Path dir,
      long size, int index) throws Exception {
    Path object = dir.resolve("big-" + index + ".nar.zst");
    java.security.MessageDigest narDigest = Sha256Hash.newDigest();
    CountingOutputStream narBytes;
    try (OutputStream file = new java.io.BufferedOutputStream(Files.newOutputStream(object), 1 << 20);
        com.github.luben.zstd.ZstdOutputStream zstd = new com.github.luben.zstd.ZstdOutputStream(file, 1)) {
      narBytes = new CountingOutputStream(new java.security.DigestOutputStream(zstd, narDigest));
      NarWriter.write(NarNode.directory(java.util.Map.of("blob",
          new NarNode.Regular(false, size, () -> new HalfRandom(size, 11 + index)))), narBytes);
      narBytes.flush();
    }
    Sha256Hash narHash = new Sha256Hash(narDigest.digest());
    java.security.MessageDigest fileDigest = Sha256Hash.newDigest();
    try (InputStream in = new java.security.DigestInputStream(Files.newInputStream(object), fileDigest)) {
      in.transferTo(OutputStream.nullOutputStream());
    }
    Sha256Hash fileHash = new Sha256Hash(fileDigest.digest());
    long fileSize = Files.size(object);
    StorePath path = StorePath.makeSourcePath(index == 0 ? "big-blob" : "big-blob-" + index, narHash, List.of());
    String narKey = "nar/" + fileHash.toNix32() + ".nar.zst";
    objects.put(narKey, object, "application/x-nix-nar");
    Files.delete(object);
    NarInfo info = cacheKey.sign(NarInfo.create(path, narKey, "zstd", fileHash, fileSize, narHash, narBytes.count,
        List.of()));
    objects.put(path.hashPart() + ".narinfo", info.toBytes(), "text/x-nix-narinfo");
    return new CacheGenerator.GeneratedPath(path, narKey, fileHash, fileSize, narBytes.count, List.of());
  }

  /** Counts what passes through. */
  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws java.io.IOException {
      out.write(b, off, len);
      count += len;
    }

    @Override
    public void write(int b) throws java.io.IOException {
      out.write(b);
      count++;
    }
  }

  /** {@code size} bytes in 64 KiB chunks: random, then a repeat of the random half before it. */
  private static final class HalfRandom extends InputStream {
    private final java.util.SplittableRandom random;
    private final byte[] chunk = new byte[64 * 1024];
    private long remaining;
    private int position = chunk.length;

    HalfRandom(long size, long seed) {
      this.remaining = size;
      this.random = new java.util.SplittableRandom(seed);
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (remaining <= 0) {
        return -1;
      }
      if (position == chunk.length) {
        int half = chunk.length / 2;
        for (int i = 0; i < half; i += 8) {
          long r = random.nextLong();
          for (int j = 0; j < 8; j++) {
            chunk[i + j] = (byte) (r >>> (8 * j));
          }
        }
        System.arraycopy(chunk, 0, chunk, half, half);
        position = 0;
      }
      int n = (int) Math.min(Math.min(len, chunk.length - position), remaining);
      System.arraycopy(chunk, position, b, off, n);
      position += n;
      remaining -= n;
      return n;
    }
  }

  /** A thread's name and CPU time, to say where a measurement's CPU went. */
  record ThreadCpu(String group, long nanos) {
    static java.util.Map<Long, ThreadCpu> now() {
      java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
      java.util.Map<Long, ThreadCpu> all = new java.util.HashMap<>();
      for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
        if (t != null) {
          long nanos = mx.getThreadCpuTime(t.getThreadId());
          if (nanos >= 0) {
            all.put(t.getThreadId(), new ThreadCpu(t.getThreadName().replaceAll("[-#]?[0-9]+", "-N"), nanos));
          }
        }
      }
      return all;
    }

    /** Time the collectors report having spent so far, in milliseconds. */
    static long gcMillis() {
      return java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
          .mapToLong(java.lang.management.GarbageCollectorMXBean::getCollectionTime).filter(t -> t > 0).sum();
    }

    /** This process's CPU time so far, in nanoseconds. */
    static long process() {
      return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** CPU seconds between two snapshots by thread group, most first (threads that ended between are missed). */
    static java.util.Map<String, Double> secondsByGroup(java.util.Map<Long, ThreadCpu> before,
        java.util.Map<Long, ThreadCpu> after) {
      java.util.Map<String, Double> groups = new java.util.HashMap<>();
      after.forEach((id, t) -> {
        ThreadCpu b = before.get(id);
        groups.merge(t.group(), (t.nanos() - (b == null ? 0 : b.nanos())) / 1e9, Double::sum);
      });
      java.util.Map<String, Double> sorted = new java.util.LinkedHashMap<>();
      groups.entrySet().stream().filter(e -> e.getValue() >= 0.01)
          .sorted(java.util.Map.Entry.<String, Double>comparingByValue().reversed())
          .forEach(e -> sorted.put(e.getKey(), e.getValue()));
      return sorted;
    }
  }

  /** Migrates {@link #nars} NARs (or one of {@code size} bytes) in a cluster of its own: the JIT compiles the path. */
  private void warmUpElsewhere(Path dir, long size) throws Exception {
    Files.createDirectories(dir);
    try (BenchCluster warm = BenchCluster.start(dir)) {
      warm.generate(nars, size);
      warm.startArchive(holders, 4L << 30);
      migration(warm, 0).run();
    }
  }

  private Migration migration(BenchCluster cluster, int limit) {
    return cluster.migration(k, m, packSize, limit,
        System.getenv("NARVAULT_BENCH_VERBOSE") != null ? out : new PrintStream(OutputStream.nullOutputStream()));
  }

  /** Reads every NAR object, {@link #READERS} at once; stored MiB/s. */
  private static double plainRead(S3ObjectSource objects, List<CacheGenerator.GeneratedPath> paths, long stored)
      throws Exception {
    return read(objects, paths, stored, false);
  }

  /**
   * Reads every narinfo and NAR object, {@link #READERS} at once, and checks each against its signed NarHash as
   * migrate must (decompression included); stored MiB/s.
   */
  private static double verifiedRead(S3ObjectSource objects, List<CacheGenerator.GeneratedPath> paths, long stored)
      throws Exception {
    return read(objects, paths, stored, true);
  }

  private static double read(S3ObjectSource objects, List<CacheGenerator.GeneratedPath> paths, long stored,
      boolean verify) throws Exception {
    long t0 = System.nanoTime();
    try (ExecutorService pool = Executors.newFixedThreadPool(READERS)) {
      List<Future<Long>> reads = new ArrayList<>();
      for (CacheGenerator.GeneratedPath p : paths) {
        reads.add(pool.submit(() -> {
          if (verify) {
            NarInfo info = NarInfo.parse(objects.readSmall(p.storePath().hashPart() + ".narinfo", NarInfo.MAX_BYTES));
            try (InputStream in = objects.open(p.narKey())) {
              return NarObjectVerifier.verify(in, info, OutputStream.nullOutputStream()).fileSize();
            }
          }
          try (InputStream in = objects.open(p.narKey())) {
            return in.transferTo(OutputStream.nullOutputStream());
          }
        }));
      }
      for (Future<Long> f : reads) {
        f.get();
      }
    }
    return stored / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
  }
}
