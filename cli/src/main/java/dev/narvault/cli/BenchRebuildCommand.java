package dev.narvault.cli;

import com.sun.management.GarbageCollectionNotificationInfo;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench rebuild}: a catalog rebuilt from N packs on loopback holders, by the real
 * {@code narvault catalog-rebuild} in a child JVM with a small heap: its time, packs per second,
 * and its heap and RSS peaks. The holders' data directories are written directly (the layout a
 * holder reads when it starts), since storing N packs through the protocol is not what is
 * measured.
 */
@Command(name = "rebuild", mixinStandardHelpOptions = true,
    header = "Measure a catalog rebuild from N packs on loopback holders.",
    description = {"Writes --packs small packs (two NARs of 200-1200 bytes each, RS(k,m)) with their signed "
            + "manifests (3 copies each) straight into the data directories of --holders holders, starts those "
            + "holders and a coordinator on loopback, then runs `narvault catalog-rebuild` into a new SQLite "
            + "catalog as a child JVM with --rebuild-heap, and checks that every pack, NAR and fragment came back. "
            + "Prints the rebuild's time and packs per second, each step's time, ids read per second, and the "
            + "child's heap (in use after a collection, and after a full one, at its highest) and resident memory peaks.",
        "",
        "Run it at several N: time grows with the packs, memory should not. Results are in docs/performance.md.",
        ""})
final class BenchRebuildCommand implements Callable<Integer> {
  private static final Pattern STEP = Pattern.compile("^(listed|read|matched|restored) .* in ([0-9.]+) s$");

  @Option(names = "--packs", defaultValue = "100000", description = "Packs to rebuild (default: ${DEFAULT-VALUE}).")
  int packs;

  @Option(names = "--holders", defaultValue = "8", description = "Holders (at least k + m; default: "
      + "${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--k", defaultValue = "4", description = "Data fragments (default: ${DEFAULT-VALUE}).")
  int k;

  @Option(names = "--m", defaultValue = "2", description = "Parity fragments (default: ${DEFAULT-VALUE}).")
  int m;

  @Option(names = "--readers", defaultValue = "16", description = "The rebuild's --readers (default: "
      + "${DEFAULT-VALUE}).")
  int readers;

  @Option(names = "--rebuild-heap", defaultValue = "64m", description = "The rebuild JVM's -Xmx (default: "
      + "${DEFAULT-VALUE}).")
  String rebuildHeap;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--tsv", description = "One line per figure: name, a tab, the value, a tab, the unit.")
  boolean tsv;

  private final PrintStream out;

  BenchRebuildCommand(PrintStream out) {
    this.out = out;
  }

  /** One measured figure. */
  private record Figure(String name, double value, String unit, String what) {}

  @Override
  public Integer call() throws Exception {
    if (packs < 1 || k < 1 || m < 1 || holders < k + m || readers < 1) {
      throw new IllegalArgumentException("need --packs, --k, --m, --readers >= 1 and --holders >= k + m, got --packs "
          + packs + " --k " + k + " --m " + m + " --holders " + holders + " --readers " + readers);
    }
    Path dir = Files.createTempDirectory("narvault-bench-rebuild-");
    try (BenchCluster cluster = BenchCluster.start(dir)) {
      long t = System.nanoTime();
      long documents = seed(dir, cluster.archiveKey);
      cluster.startArchive(holders, 1L << 40);
      double setup = (System.nanoTime() - t) / 1e9;
      if (!tsv) {
        System.err.printf(Locale.ROOT, "  %,d packs written on %d holders (RS(%d,%d), %,d documents) in %.0f s%n", packs,
            holders, k, m, documents, setup);
      }
      List<Figure> figures = rebuild(dir, cluster);
      print(figures);
      return 0;
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /**
   * Writes every pack's fragments and manifest copies into the holders' data directories, as
   * {@code fragments/<id[0..2]>/<id[2..4]>/<id>} with its block-size file; returns the documents.
   */
  private long seed(Path dir, NixSecretKey archiveKey) throws IOException {
    SplittableRandom random = new SplittableRandom(seed);
    long documents = 0;
    long last = System.nanoTime();
    for (int p = 0; p < packs; p++) {
      ByteArrayOutputStream pack = new ByteArrayOutputStream();
      List<Manifest.Nar> nars = new ArrayList<>();
      for (int n = 0; n < 2; n++) {
        byte[] object = new byte[200 + random.nextInt(1000)];
        for (int i = 0; i < object.length; i++) {
          object[i] = (byte) random.nextInt();
        }
        Sha256Hash hash = Sha256Hash.of(object);
        String url = "nar/" + hash.toNix32() + ".nar";
        NarInfo info = NarInfo.create(StorePath.makeSourcePath("bench-" + p + "-" + n, hash, List.of()), url, "none",
            hash, object.length, hash, object.length, List.of());
        nars.add(new Manifest.Nar(url, pack.size(), object.length, hash.toNixString(), info.text()));
        pack.writeBytes(object);
      }
      byte[] bytes = pack.toByteArray();
      PackLayout layout = PackLayout.of(k, m, bytes.length, PackLayout.DEFAULT_BLOCK_SIZE);
      List<ByteArrayOutputStream> sinks = new ArrayList<>();
      for (int i = 0; i < k + m; i++) {
        sinks.add(new ByteArrayOutputStream());
      }
      List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(k, m)).encode(PackSource.of(bytes), layout,
          List.<OutputStream>copyOf(sinks));
      Manifest manifest = Manifest.of(layout, digests, nars);
      for (int i = 0; i < k + m; i++) {
        write(dir, (p + i) % holders, digests.get(i).id().hex(), sinks.get(i).toByteArray(), layout.blockSize());
      }
      byte[] document = ManifestCodec.toBytes(ManifestCodec.sign(manifest, archiveKey));
      String documentId = DocumentPlacer.idOf(document).hex();
      for (int c = 0; c < DocumentPlacer.COPIES; c++) {
        write(dir, (p + k + m + c) % holders, documentId, document, PackLayout.DEFAULT_BLOCK_SIZE);
        documents++;
      }
      if (!tsv && System.nanoTime() - last > 10_000_000_000L) {
        last = System.nanoTime();
        System.err.printf(Locale.ROOT, "  written %,d of %,d packs%n", p + 1, packs);
      }
    }
    return documents;
  }

  private static void write(Path dir, int holder, String id, byte[] bytes, int blockSize) throws IOException {
    Path folder = dir.resolve("holder-" + holder).resolve("fragments").resolve(id.substring(0, 2))
        .resolve(id.substring(2, 4));
    Files.createDirectories(folder);
    Files.writeString(folder.resolve(id + ".bs"), Integer.toString(blockSize));
    Files.write(folder.resolve(id), bytes);
  }

  private List<Figure> rebuild(Path dir, BenchCluster cluster) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    // As the narvault launcher runs it.
    List<String> command = new ArrayList<>(List.of(java, "-Xmx" + rebuildHeap, "-XX:+UseParallelGC",
        "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
    // Extra options for the rebuild's JVM, e.g. a flight recording to see where its time goes.
    String extra = System.getenv("NARVAULT_BENCH_REBUILD_OPTS");
    if (extra != null && !extra.isBlank()) {
      command.addAll(List.of(extra.strip().split("\\s+")));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Child.class.getName(), "catalog-rebuild", "--coordinator", cluster.coordinator.endpoint().toString(),
        "--archive-public-key", cluster.archiveKey.publicKey().toString(), "--catalog",
        "jdbc:sqlite:" + dir.resolve("rebuilt.db"), "--work-dir", dir.resolve("work").toString(),
        "--readers", Integer.toString(readers)));
    long start = System.nanoTime();
    Process child = new ProcessBuilder(command).start();
    List<String> errors = Collections.synchronizedList(new ArrayList<>());
    Thread stderr = Thread.ofPlatform().start(() -> {
      try (BufferedReader lines = new BufferedReader(new InputStreamReader(child.getErrorStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          errors.add(line);
          if (!tsv && line.startsWith("progress:")) {
            System.err.println("  " + line);
          }
        }
      } catch (IOException e) {
        errors.add("reading the rebuild's errors: " + e.getMessage());
      }
    });
    String printed = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int exit = child.waitFor();
    double seconds = (System.nanoTime() - start) / 1e9;
    stderr.join();
    if (exit != 0) {
      throw new IllegalStateException("the rebuild exited with " + exit + ":\n" + printed + String.join("\n", errors));
    }
    List<Figure> figures = new ArrayList<>();
    figures.add(new Figure("packs", packs, "packs", String.format(Locale.ROOT, "RS(%d,%d) on %d holders, 2 NARs each",
        k, m, holders)));
    check(dir, figures);
    figures.add(new Figure("rebuild-time", seconds, "s", "the child JVM, start to exit"));
    figures.add(new Figure("packs-per-second", packs / seconds, "packs/s", "packs over the whole rebuild"));
    for (String line : printed.split("\n")) {
      Matcher step = STEP.matcher(line.strip());
      if (step.matches()) {
        String name = switch (step.group(1)) {
          case "listed" -> "listing-time";
          case "read" -> "reading-time";
          case "matched" -> "matching-time";
          default -> line.contains(" aliases ") ? "aliases-time" : "restoring-time";
        };
        figures.add(new Figure(name, Double.parseDouble(step.group(2)), "s",
            line.strip().replaceAll(" in [0-9.]+ s$", "")));
      }
      if (line.startsWith("read ")) {
        long ids = Long.parseLong(line.replaceAll("^read ([0-9,]+) ids.*", "$1").replace(",", ""));
        figures.add(new Figure("ids-read", ids, "ids", "distinct ids listed, each asked about"));
      }
    }
    for (String line : errors) {
      String[] cells = line.split(" ");
      if (cells.length == 2 && cells[0].equals("heap-after-gc-peak-bytes")) {
        figures.add(new Figure("heap-peak", Long.parseLong(cells[1]) / 1048576.0, "MiB",
            "heap in use after any collection, at its highest, with -Xmx" + rebuildHeap));
      }
      if (cells.length == 2 && cells[0].equals("heap-after-full-gc-peak-bytes")) {
        figures.add(new Figure("live-heap-peak", Long.parseLong(cells[1]) / 1048576.0, "MiB",
            "heap in use after a full collection (what is live), at its highest"));
      }
      if (cells.length == 2 && cells[0].equals("full-collections")) {
        figures.add(new Figure("full-collections", Long.parseLong(cells[1]), "", "full collections in the rebuild"));
      }
      if (cells.length == 2 && cells[0].equals("rss-peak-kib")) {
        figures.add(new Figure("rss-peak", Long.parseLong(cells[1]) / 1024.0, "MiB", "resident memory at its highest"));
      }
    }
    return figures;
  }

  /** Every pack, NAR and fragment copy came back, each copy unverified. */
  private void check(Path dir, List<Figure> figures) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("rebuilt.db"));
        Statement s = c.createStatement()) {
      long restoredPacks = count(s, "SELECT COUNT(*) FROM packs");
      long nars = count(s, "SELECT COUNT(*) FROM nars");
      long copies = count(s, "SELECT COUNT(*) FROM fragments WHERE state = 'unverified'");
      long documentCopies = count(s, "SELECT COUNT(*) FROM document_copies");
      if (restoredPacks != packs || nars != 2L * packs || copies != (long) packs * (k + m)
          || documentCopies != (long) packs * DocumentPlacer.COPIES) {
        throw new IllegalStateException("the rebuilt catalog is not whole: " + restoredPacks + " packs, " + nars
            + " NARs, " + copies + " fragment copies, " + documentCopies + " manifest copies");
      }
      figures.add(new Figure("fragment-copies", copies, "rows", "fragment rows restored, all unverified"));
    }
  }

  private static long count(Statement s, String query) throws Exception {
    try (ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private void print(List<Figure> figures) {
    if (tsv) {
      for (Figure f : figures) {
        out.printf(Locale.ROOT, "%s\t%s\t%s%n", f.name(), format(f.value()), f.unit());
      }
      return;
    }
    out.printf(Locale.ROOT, "rebuild bench: %,d packs, RS(%d,%d), %d holders, %d readers, -Xmx%s%n", packs, k, m,
        holders, readers, rebuildHeap);
    for (Figure f : figures) {
      out.printf(Locale.ROOT, "%-18s %12s %-7s %s%n", f.name(), format(f.value()), f.unit(), f.what());
    }
  }

  private static String format(double v) {
    return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
  }

  /**
   * The rebuild's JVM: runs the {@code narvault} command line it is given, then prints on
   * standard error the heap in use after a collection at its highest, and the resident memory at
   * its highest (Linux).
   */
  static final class Child {
    private Child() {}

    public static void main(String[] args) throws IOException {
      AtomicLong peak = new AtomicLong();
      AtomicLong livePeak = new AtomicLong();
      AtomicLong fullCollections = new AtomicLong();
      // A collection reports every memory pool (metaspace and code too): only the heap's count.
      Set<String> heap = ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP)
          .map(MemoryPoolMXBean::getName).collect(Collectors.toSet());
      for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
        ((NotificationEmitter) gc).addNotificationListener((notification, handback) -> {
          if (notification.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
            GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from(
                (CompositeData) notification.getUserData());
            long used = info.getGcInfo().getMemoryUsageAfterGc().entrySet().stream()
                .filter(e -> heap.contains(e.getKey())).mapToLong(e -> e.getValue().getUsed()).sum();
            peak.accumulateAndGet(used, Math::max);
            // After a full collection only what is live is left.
            if (info.getGcAction().contains("major")) {
              livePeak.accumulateAndGet(used, Math::max);
              fullCollections.incrementAndGet();
            }
          }
        }, null, null);
      }
      int exit = Narvault.commandLine(System.out).execute(args);
      System.err.println("heap-after-gc-peak-bytes " + peak.get());
      System.err.println("heap-after-full-gc-peak-bytes " + livePeak.get());
      System.err.println("full-collections " + fullCollections.get());
      Path status = Path.of("/proc/self/status");
      if (Files.exists(status)) {
        for (String line : Files.readAllLines(status)) {
          if (line.startsWith("VmHWM:")) {
            System.err.println("rss-peak-kib " + line.replaceAll("[^0-9]", ""));
          }
        }
      }
      System.exit(exit);
    }
  }
}
