package dev.narvault.cli;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.holder.server.HolderServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.GetObjectPresignRequest;

/**
 * {@code narvault bench gateway}: NARs through the gateway against the same objects read straight
 * from S3, in the same run, on loopback. The gateway runs as its own JVM with a small heap, so its
 * peak memory is measured and a big NAR proves it streams.
 */
@Command(name = "gateway", mixinStandardHelpOptions = true,
    header = "Measure the gateway against reading the same NARs straight from S3 (loopback, a few minutes).",
    description = {"Generates --nars NARs of 1-4 MiB (or one --big-nar), archives them with RS(k,m) on --holders "
            + "loopback holders (the objects stay in S3), starts `narvault gateway` as a child JVM with "
            + "--gateway-heap and its NAR cache off, and measures, alternating rounds of --round-time: the NARs "
            + "read from S3 (presigned URLs) and through the gateway by the same HTTP client, healthy, then "
            + "with the m holders holding most data fragments stopped; then --clients concurrent clients "
            + "through the gateway. Prints stored MiB/s, the gateway's ratio to S3, errors, the CPU per MiB of "
            + "each path, the holder bytes read per NAR byte served, and the gateway's peak RSS.",
        "",
        "With --holder-cap, every holder caps its uploads as a volunteer does (--max-upload-speed), optionally a "
            + "--holder-delay round trip away, and the gateway is measured against the link limit instead of "
            + "against S3: k x the cap, the most any read of k fragments can get. Printed per case: MiB/s through "
            + "the gateway, its share of the limit, the time to the first byte of each NAR, and the holder bytes "
            + "read per NAR byte.",
        ""})
final class BenchGatewayCommand implements Callable<Integer> {
  private static final Pattern SERVING = Pattern.compile("gateway serving at (http://\\S+)");

  @Option(names = "--nars", defaultValue = "64", description = "NARs to generate (default: ${DEFAULT-VALUE}).")
  int nars;

  @Option(names = "--big-nar", defaultValue = "0", converter = ByteSize.class,
      description = "Instead of many small NARs, one NAR of this size (e.g. 2GiB), zstd.")
  long bigNar;

  @Option(names = "--holders", defaultValue = "14", description = "Holders (default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--k", defaultValue = "10", description = "Data fragments (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--m", defaultValue = "4", description = "Parity fragments (default: ${DEFAULT-VALUE}).")
  int m;

  @Option(names = "--pack-size", defaultValue = "64MiB", converter = ByteSize.class,
      description = "Pack size (default: ${DEFAULT-VALUE}).")
  long packSize;

  @Option(names = "--readers", defaultValue = "8", description = "NARs read at once in the throughput rounds, "
      + "from S3 and from the gateway alike (default: ${DEFAULT-VALUE}).")
  int readers;

  @Option(names = "--clients", defaultValue = "200",
      description = "Concurrent clients in the last round, each fetching --fetches NARs (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--fetches", defaultValue = "4", description = "NARs each client fetches (default: ${DEFAULT-VALUE}).")
  int fetches;

  @Option(names = "--rounds", defaultValue = "2", description = "Alternating rounds per case (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--round-time", defaultValue = "3s", converter = DurationConverter.class,
      description = "Each round reads the NARs over and over for at least this long (default: ${DEFAULT-VALUE}).")
  Duration roundTime;

  @Option(names = "--warm-up-rounds", defaultValue = "3",
      description = "Rounds of each side before any is measured (default: ${DEFAULT-VALUE}).")
  int warmUpRounds;

  @Option(names = "--holder-cap", defaultValue = "0", converter = ByteSize.class, paramLabel = "RATE",
      description = "Cap every holder's uploads at this many bytes/s (e.g. 2MiB), as volunteers cap theirs, and "
          + "measure against the link limit k x RATE instead of against S3 (default: no cap).")
  long holderCap;

  @Option(names = "--holder-delay", defaultValue = "0", paramLabel = "MS",
      description = "With --holder-cap, a round trip of this many milliseconds between the gateway and every "
          + "holder, added by a relay in front of each (default: ${DEFAULT-VALUE}).")
  long holderDelayMillis;

  @Option(names = "--nar-spool-size", defaultValue = "4GiB", converter = ByteSize.class,
      description = "The gateway's --nar-spool-size: room for NARs being rebuilt, each filled out of order from "
          + "all its fragments at once; 0 reads every NAR in order, one fragment after the other "
          + "(default: ${DEFAULT-VALUE}).")
  long spoolSize;

  @Option(names = "--read-memory", defaultValue = "32MiB", converter = ByteSize.class,
      description = "The gateway's --read-memory: holder reads in flight, all requests together; decoding gets as "
          + "much again (default: ${DEFAULT-VALUE}).")
  long readMemory;

  @Option(names = "--spread-reads", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "The gateway's --spread-reads: a NAR over every data fragment read from all n holders "
          + "(default: ${DEFAULT-VALUE}).")
  boolean spreadReads;

  @Option(names = "--gateway-heap", defaultValue = "256m", description = "The gateway JVM's -Xmx (default: ${DEFAULT-VALUE}).")
  String gatewayHeap;

  private final PrintStream out;

  BenchGatewayCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (nars < 1 || holders < k + m || k < 1 || m < 1 || readers < 1 || clients < 1 || rounds < 1
        || warmUpRounds < 0 || holderCap < 0 || holderDelayMillis < 0) {
      throw new IllegalArgumentException("need --nars, --readers, --clients, --rounds >= 1, --warm-up-rounds, "
          + "--holder-cap, --holder-delay >= 0 and --holders >= k + m");
    }
    if (holderDelayMillis > 0 && holderCap == 0) {
      throw new IllegalArgumentException("--holder-delay goes with --holder-cap");
    }
    Path dir = Files.createTempDirectory("narvault-bench-gateway-");
    try (BenchCluster cluster = BenchCluster.start(dir)) {
      List<CacheGenerator.GeneratedPath> paths = cluster.generate(nars, bigNar);
      long stored = paths.stream().mapToLong(CacheGenerator.GeneratedPath::fileSize).sum();
      out.printf(Locale.ROOT, "generated %d NARs, %.1f MiB stored; RS(%d,%d) on %d holders, %d cores%n",
          paths.size(), stored / 1048576.0, k, m, holders, Runtime.getRuntime().availableProcessors());
      cluster.startArchive(holders, 8L << 30, holderCap, holderDelayMillis);
      MigrationSummary summary = cluster.migration(k, m, packSize, 0, new PrintStream(OutputStream.nullOutputStream()))
          .run();
      out.println("archived: " + summary);

      Process gateway = startGateway(cluster.s3, dir);
      cluster.alsoClose(() -> {
        gateway.destroy();
        if (!gateway.waitFor(10, TimeUnit.SECONDS)) {
          gateway.destroyForcibly();
        }
      });
      URI endpoint = awaitEndpoint(gateway);
      if (holderCap > 0) {
        return linkLimit(cluster, endpoint, paths, gateway);
      }
      Map<String, URI> fromS3 = presignedUrls(cluster.s3, paths);
      // Warm-up, not counted: the JIT on both sides (a gateway runs for days; one round left it
      // compiling a third of the time), the page cache, the holders' files.
      for (int r = 0; r < warmUpRounds; r++) {
        viaS3(fromS3, paths, readers);
        viaGateway(endpoint, paths, readers);
      }

      out.println();
      out.println("case                          S3 MiB/s   gateway MiB/s   gateway / S3   errors"
          + "   CPU ms/MiB: S3   gateway path (gateway JVM)   holder bytes / NAR bytes");
      ProcessHandle gatewayProcess = gateway.toHandle();
      report("healthy", fromS3, endpoint, paths, gatewayProcess);
      List<String> stopped = stopMostDataHolders(cluster);
      out.printf(Locale.ROOT, "(stopped %d holders holding the most data fragments)%n", stopped.size());
      report(m + " holders down", fromS3, endpoint, paths, gatewayProcess);

      Rate crowd = crowdViaGateway(endpoint, crowd(paths));
      out.printf(Locale.ROOT, "%d clients x %d NARs, %d down   %8s   %13.1f   %12s   %6d%n", clients, fetches, m, "",
          crowd.mibPerSecond(), "", crowd.errors());
      out.printf(Locale.ROOT, "gateway peak RSS: %d MiB with -Xmx%s%n", peakRssKiB(gateway.pid()) / 1024, gatewayHeap);
      return 0;
    }
  }

  /**
   * The gateway against the link limit: rounds of reads through it, healthy and with m holders
   * down, each NAR's time to its first byte recorded.
   */
  private int linkLimit(BenchCluster cluster, URI endpoint, List<CacheGenerator.GeneratedPath> paths,
      Process gateway) throws Exception {
    double limit = (double) k * holderCap / 1048576.0;
    // Independent clients ask for unrelated NARs: in pack order, the readers would all wait on
    // the same one or two holders.
    paths = new ArrayList<>(paths);
    java.util.Collections.shuffle(paths, new Random(13));
    out.printf(Locale.ROOT, "holders capped at %s/s, %d ms round trip: link limit k x cap = %.1f MiB/s; %d readers%n",
        ByteSize.format(holderCap), holderDelayMillis, limit, readers);
    double one = oneHolder(cluster);
    out.printf(Locale.ROOT, "one holder alone sends %.2f MiB/s under its cap of %.2f (a fragment read in 256 KiB "
        + "ranges, two at a time): k x that = %.1f MiB/s%n", one, holderCap / 1048576.0, k * one);
    for (int r = 0; r < warmUpRounds; r++) {
      viaGateway(endpoint, paths, readers, null);
    }
    out.println();
    out.println("case                          gateway MiB/s   of the limit   first byte p50 / p90 ms   "
        + "holder bytes / NAR byte   errors   cores busy (gateway JVM)");
    linkReport("healthy", endpoint, paths, limit, gateway.toHandle());
    List<String> stopped = stopMostDataHolders(cluster);
    out.printf(Locale.ROOT, "(stopped %d holders holding the most data fragments)%n", stopped.size());
    linkReport(m + " holders down", endpoint, paths, limit, gateway.toHandle());
    out.printf(Locale.ROOT, "gateway peak RSS: %d MiB with -Xmx%s%n", peakRssKiB(gateway.pid()) / 1024, gatewayHeap);
    return 0;
  }

  /**
   * What one capped holder really sends, MiB/s: a whole data fragment read from it in 256 KiB
   * ranges, two in flight, as a gateway's lane reads it. Netty's traffic shaping, which the
   * holder's cap is, lets some bursts through, so this is the yardstick the ratio's limit
   * approximates.
   */
  private static double oneHolder(BenchCluster cluster) throws Exception {
    var pack = cluster.catalog.custody().packIds("", 1).getFirst();
    FragmentPlacement p = cluster.catalog.placements(pack).stream().filter(f -> f.fragmentIndex() == 0)
        .findFirst().orElseThrow();
    dev.narvault.core.holder.HolderClient client = new dev.narvault.core.holder.HolderClient(Duration.ofSeconds(30));
    URI endpoint = URI.create(p.endpoint());
    dev.narvault.core.pack.FragmentId id = new dev.narvault.core.pack.FragmentId(p.fragmentId());
    long length = Math.min(client.size(endpoint, id), 16L << 20);
    int piece = 256 * 1024;
    AtomicLong next = new AtomicLong();
    long t0 = System.nanoTime();
    try (ExecutorService two = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> readers = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        readers.add(two.submit(() -> {
          long at;
          while ((at = next.getAndAdd(piece)) < length) {
            client.read(endpoint, id, at, (int) Math.min(piece, length - at));
          }
          return null;
        }));
      }
      for (Future<?> f : readers) {
        f.get();
      }
    }
    return length / 1048576.0 / ((System.nanoTime() - t0) / 1e9);
  }

  private void linkReport(String label, URI endpoint, List<CacheGenerator.GeneratedPath> paths, double limit,
      ProcessHandle gateway) throws Exception {
    double holderBytes0 = metric(endpoint, "narvault_gateway_nar_holder_bytes_total");
    double narBytes0 = metric(endpoint, "narvault_gateway_nar_archive_bytes_total");
    // One round not counted: the first reads of a case find out which holders are gone.
    int errors = viaGateway(endpoint, paths, readers, null).errors();
    List<Double> rates = new ArrayList<>();
    java.util.Queue<Long> firstBytes = new java.util.concurrent.ConcurrentLinkedQueue<>();
    long cpu0 = cpuNanos(ProcessHandle.current()) + cpuNanos(gateway);
    long gatewayCpu0 = cpuNanos(gateway);
    long t0 = System.nanoTime();
    for (int r = 0; r < rounds; r++) {
      Rate g = viaGateway(endpoint, paths, readers, firstBytes);
      rates.add(g.mibPerSecond());
      errors += g.errors();
    }
    long elapsed = System.nanoTime() - t0;
    double cores = (cpuNanos(ProcessHandle.current()) + cpuNanos(gateway) - cpu0) / (double) elapsed;
    double gatewayCores = (cpuNanos(gateway) - gatewayCpu0) / (double) elapsed;
    double amplification = (metric(endpoint, "narvault_gateway_nar_holder_bytes_total") - holderBytes0)
        / (metric(endpoint, "narvault_gateway_nar_archive_bytes_total") - narBytes0);
    List<Long> sorted = firstBytes.stream().sorted().toList();
    double p50 = sorted.get(sorted.size() / 2) / 1e6;
    double p90 = sorted.get(Math.min(sorted.size() - 1, sorted.size() * 9 / 10)) / 1e6;
    double g = median(rates);
    out.printf(Locale.ROOT, "%-28s %13.1f   %11.2fx   %14.0f / %-6.0f   %23.2f   %6d   %8.2f (%.2f)%n", label, g,
        g / limit, p50, p90, amplification, errors, cores, gatewayCores);
  }

  /**
   * Alternating rounds of S3 and gateway reads; one line with the medians, their ratio, and the
   * CPU each path cost per stored MiB: this process (S3Proxy, holders, clients) plus the gateway
   * JVM. On a machine where every process shares a few cores, CPU per MiB is what sets the ratio.
   */
  private void report(String label, Map<String, URI> fromS3, URI endpoint, List<CacheGenerator.GeneratedPath> paths,
      ProcessHandle gateway) throws Exception {
    List<Double> s3 = new ArrayList<>();
    List<Double> gw = new ArrayList<>();
    List<Double> s3Cpu = new ArrayList<>();
    List<Double> gwCpu = new ArrayList<>();
    List<Double> gwJvmCpu = new ArrayList<>();
    List<Double> s3Jit = new ArrayList<>();
    List<Double> gwJit = new ArrayList<>();
    long self = ProcessHandle.current().pid();
    double holderBytes0 = metric(endpoint, "narvault_gateway_nar_holder_bytes_total");
    double narBytes0 = metric(endpoint, "narvault_gateway_nar_archive_bytes_total");
    int errors = 0;
    // One round not counted: the first reads of a case run code the earlier cases did not.
    viaS3(fromS3, paths, readers);
    errors += viaGateway(endpoint, paths, readers).errors();
    for (int r = 0; r < rounds; r++) {
      CompilerTicks jit0 = CompilerTicks.of(self, gateway.pid());
      long self0 = cpuNanos(ProcessHandle.current());
      long gw0 = cpuNanos(gateway);
      Rate direct = viaS3(fromS3, paths, readers);
      long self1 = cpuNanos(ProcessHandle.current());
      long gw1 = cpuNanos(gateway);
      CompilerTicks jit1 = CompilerTicks.of(self, gateway.pid());
      Rate g = viaGateway(endpoint, paths, readers);
      long self2 = cpuNanos(ProcessHandle.current());
      long gw2 = cpuNanos(gateway);
      CompilerTicks jit2 = CompilerTicks.of(self, gateway.pid());
      s3Jit.add(jit1.nanosSince(jit0) / 1e6 / (direct.bytes() / 1048576.0));
      gwJit.add(jit2.nanosSince(jit1) / 1e6 / (g.bytes() / 1048576.0));
      s3.add(direct.mibPerSecond());
      gw.add(g.mibPerSecond());
      errors += direct.errors() + g.errors();
      s3Cpu.add((self1 - self0 + gw1 - gw0) / 1e6 / (direct.bytes() / 1048576.0));
      gwCpu.add((self2 - self1 + gw2 - gw1) / 1e6 / (g.bytes() / 1048576.0));
      gwJvmCpu.add((gw2 - gw1) / 1e6 / (g.bytes() / 1048576.0));
    }
    double amplification = (metric(endpoint, "narvault_gateway_nar_holder_bytes_total") - holderBytes0)
        / (metric(endpoint, "narvault_gateway_nar_archive_bytes_total") - narBytes0);
    double s = median(s3);
    double g = median(gw);
    out.printf(Locale.ROOT, "%-28s %9.1f   %13.1f   %11.2fx   %6d   %15.2f   %6.2f (%.2f)   %24.2f%n", label, s, g,
        g / s, errors, median(s3Cpu), median(gwCpu), median(gwJvmCpu), amplification);
    if (!s3Jit.isEmpty() && median(s3Jit) + median(gwJit) > 0) {
      double s3Rest = median(minus(s3Cpu, s3Jit));
      double gwRest = median(minus(gwCpu, gwJit));
      out.printf(Locale.ROOT, "  of which JIT compiling (both JVMs): S3 path %.2f, gateway path %.2f ms/MiB;"
          + " without it: S3 path %.2f, gateway path %.2f ms/MiB (%.2fx)%n", median(s3Jit), median(gwJit), s3Rest,
          gwRest, gwRest / s3Rest);
    }
  }

  private static List<Double> minus(List<Double> a, List<Double> b) {
    List<Double> d = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      d.add(a.get(i) - b.get(i));
    }
    return d;
  }

  /** One counter of the gateway's {@code /metrics}. */
  private static double metric(URI endpoint, String name) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(endpoint + "/metrics").toURL().openConnection();
    try (InputStream in = c.getInputStream()) {
      Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " (\\d+)$")
          .matcher(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      if (!m.find()) {
        throw new IOException("the gateway's /metrics has no " + name);
      }
      return Double.parseDouble(m.group(1));
    }
  }

  /** CPU time a process has used so far (user and system), 0 when the system does not say. */
  private static long cpuNanos(ProcessHandle process) {
    return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = values.stream().sorted().toList();
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /**
   * Each client its own connection from its own loopback address (127.1.x.y), as distinct users
   * would be: the gateway limits connections per address.
   */
  private Rate crowdViaGateway(URI endpoint, List<CacheGenerator.GeneratedPath> picks) throws Exception {
    AtomicInteger errors = new AtomicInteger();
    long bytes = picks.stream().mapToLong(CacheGenerator.GeneratedPath::fileSize).sum();
    long t0 = System.nanoTime();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> all = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        List<CacheGenerator.GeneratedPath> mine = picks.subList(c * fetches, (c + 1) * fetches);
        java.net.InetAddress local = java.net.InetAddress.getByAddress(
            new byte[] {127, 1, (byte) (c / 250), (byte) (c % 250 + 1)});
        all.add(pool.submit(() -> {
          try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).localAddress(local)
              .build()) {
            for (CacheGenerator.GeneratedPath p : mine) {
              try {
                HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(endpoint + "/" + p.narKey()))
                    .timeout(Duration.ofMinutes(5)).build(), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream in = r.body()) {
                  if (in.transferTo(OutputStream.nullOutputStream()) != p.fileSize() || r.statusCode() != 200) {
                    errors.incrementAndGet();
                  }
                }
              } catch (IOException e) {
                errors.incrementAndGet();
              }
            }
          }
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get();
      }
    }
    return new Rate(bytes / 1048576.0 / ((System.nanoTime() - t0) / 1e9), errors.get(), bytes);
  }

  private List<CacheGenerator.GeneratedPath> crowd(List<CacheGenerator.GeneratedPath> paths) {
    Random random = new Random(11);
    List<CacheGenerator.GeneratedPath> picks = new ArrayList<>();
    for (int i = 0; i < clients * fetches; i++) {
      picks.add(paths.get(random.nextInt(paths.size())));
    }
    return picks;
  }

  /** MiB/s of stored bytes, and the requests that failed or came back with the wrong length. */
  record Rate(double mibPerSecond, int errors, long bytes) {}

  /**
   * Presigned GET URLs of the NAR objects, so that S3 is read by the same plain HTTP client as
   * the gateway: the two sides differ only in the server.
   */
  private static Map<String, URI> presignedUrls(EmbeddedS3 s3, List<CacheGenerator.GeneratedPath> paths)
      throws Exception {
    Map<String, URI> urls = new HashMap<>();
    try (S3Presigner presigner = S3Presigner.builder().endpointOverride(s3.endpoint())
        .region(Region.of(EmbeddedS3.REGION))
        .credentialsProvider(StaticCredentialsProvider.create(
            AwsBasicCredentials.create(EmbeddedS3.ACCESS_KEY, EmbeddedS3.SECRET_KEY)))
        .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build()).build()) {
      for (CacheGenerator.GeneratedPath p : paths) {
        urls.put(p.narKey(), presigner.presignGetObject(GetObjectPresignRequest.builder()
            .signatureDuration(Duration.ofHours(6))
            .getObjectRequest(r -> r.bucket(s3.config().bucket()).key(p.narKey())).build()).url().toURI());
      }
    }
    return urls;
  }

  private Rate viaS3(Map<String, URI> urls, List<CacheGenerator.GeneratedPath> paths, int parallel)
      throws Exception {
    return timed(paths, parallel, p -> get(urls.get(p.narKey()), null));
  }

  private Rate viaGateway(URI endpoint, List<CacheGenerator.GeneratedPath> paths, int parallel)
      throws Exception {
    return viaGateway(endpoint, paths, parallel, null);
  }

  /** As above; with {@code firstBytes}, each NAR's time to its first body byte (ns) is added to it. */
  private Rate viaGateway(URI endpoint, List<CacheGenerator.GeneratedPath> paths, int parallel,
      java.util.Queue<Long> firstBytes) throws Exception {
    return timed(paths, parallel, p -> get(URI.create(endpoint + "/" + p.narKey()), firstBytes));
  }

  /**
   * The body's length, or -1 for a status other than 200. A blocking client that reads the socket
   * on the calling thread (like curl, which Nix uses), kept-alive connections reused.
   */
  private static long get(URI uri, java.util.Queue<Long> firstBytes) throws IOException {
    long t0 = System.nanoTime();
    HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
    c.setConnectTimeout(10_000);
    c.setReadTimeout(300_000);
    if (c.getResponseCode() != 200) {
      try (InputStream error = c.getErrorStream()) {
        if (error != null) {
          error.transferTo(OutputStream.nullOutputStream());
        }
      }
      return -1;
    }
    try (InputStream in = c.getInputStream()) {
      if (in.read() < 0) {
        return 0;
      }
      if (firstBytes != null) {
        firstBytes.add(System.nanoTime() - t0);
      }
      return 1 + in.transferTo(OutputStream.nullOutputStream());
    }
  }

  @FunctionalInterface
  private interface Fetch {
    long bytes(CacheGenerator.GeneratedPath path) throws Exception;
  }

  /**
   * {@code parallel} readers going through the NARs in turn, again from the first when all are
   * read, until the round has lasted {@code roundTime}; every NAR started is finished and counted.
   */
  private Rate timed(List<CacheGenerator.GeneratedPath> paths, int parallel, Fetch fetch) throws Exception {
    AtomicInteger errors = new AtomicInteger();
    AtomicInteger next = new AtomicInteger();
    AtomicLong bytes = new AtomicLong();
    long t0 = System.nanoTime();
    long end = t0 + roundTime.toNanos();
    try (ExecutorService pool = Executors.newFixedThreadPool(parallel)) {
      List<Future<?>> all = new ArrayList<>();
      for (int r = 0; r < parallel; r++) {
        all.add(pool.submit(() -> {
          // At least one pass over the NARs, however long it takes.
          int i;
          while ((i = next.getAndIncrement()) < paths.size() || System.nanoTime() < end) {
            CacheGenerator.GeneratedPath p = paths.get(i % paths.size());
            try {
              if (fetch.bytes(p) != p.fileSize()) {
                errors.incrementAndGet();
              }
            } catch (Exception e) {
              errors.incrementAndGet();
            }
            bytes.addAndGet(p.fileSize());
          }
          return null;
        }));
      }
      for (Future<?> f : all) {
        f.get();
      }
    }
    return new Rate(bytes.get() / 1048576.0 / ((System.nanoTime() - t0) / 1e9), errors.get(), bytes.get());
  }

  /** Stops the m holders holding the most data fragments: the worst m to lose for reads. */
  private List<String> stopMostDataHolders(BenchCluster cluster) throws Exception {
    Map<String, Integer> dataFragments = new HashMap<>();
    for (var pack : cluster.catalog.custody().packIds("", Integer.MAX_VALUE)) {
      for (FragmentPlacement p : cluster.catalog.placements(pack)) {
        if (p.fragmentIndex() < k) {
          dataFragments.merge(p.endpoint(), 1, Integer::sum);
        }
      }
    }
    List<String> worst = dataFragments.entrySet().stream()
        .sorted(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder()))
        .limit(m).map(Map.Entry::getKey).toList();
    for (HolderServer h : List.copyOf(cluster.holders)) {
      if (worst.contains(cluster.endpoint(h))) {
        cluster.stopHolder(h);
      }
    }
    return worst;
  }

  private Process startGateway(EmbeddedS3 s3, Path dir) throws IOException {
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>(List.of(java, "-Xmx" + gatewayHeap, "--add-modules",
        "jdk.incubator.vector", "-XX:+UseParallelGC"));
    // Extra options for the gateway JVM, e.g. a flight recording to see where its time goes.
    String extra = System.getenv("NARVAULT_BENCH_GATEWAY_OPTS");
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.strip().split("\\s+")));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Narvault.class.getName(), "gateway",
        "--catalog", "jdbc:sqlite:" + dir.resolve("catalog.db"), "--s3-endpoint", s3.endpoint().toString(),
        "--bucket", "cache", "--port", "0", "--nar-cache-size", "0",
        "--nar-spool-size", Long.toString(spoolSize), "--read-memory", Long.toString(readMemory),
        spreadReads ? "--spread-reads" : "--no-spread-reads"));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(dir.resolve("gateway.log").toFile());
    builder.environment().put("AWS_ACCESS_KEY_ID", EmbeddedS3.ACCESS_KEY);
    builder.environment().put("AWS_SECRET_ACCESS_KEY", EmbeddedS3.SECRET_KEY);
    builder.environment().put("AWS_REGION", EmbeddedS3.REGION);
    return builder.start();
  }

  private static URI awaitEndpoint(Process gateway) throws IOException {
    BufferedReader lines = new BufferedReader(new InputStreamReader(gateway.getInputStream(), StandardCharsets.UTF_8));
    for (int i = 0; i < 100; i++) {
      String line = lines.readLine();
      if (line == null) {
        break;
      }
      Matcher matcher = SERVING.matcher(line);
      if (matcher.find()) {
        // Keep draining its output so the child never blocks on a full pipe.
        Thread.ofVirtual().start(() -> {
          try {
            lines.transferTo(java.io.Writer.nullWriter());
          } catch (IOException ignored) {
            // the gateway stopped
          }
        });
        return URI.create(matcher.group(1));
      }
    }
    throw new IOException("the gateway did not start; see gateway.log in the bench directory");
  }

  /** The peak resident set of a process (Linux), KiB; 0 when unknown. */
  private static long peakRssKiB(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }
}
