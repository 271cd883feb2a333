package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code migrate --paths F} with 10^7 store paths runs in a 256 MiB heap: a child JVM with
 * {@code -Xmx256m} opens a run's input as {@code migrate} does (the list sorted onto disk) and
 * asks it about 2 × 10^5 narinfo keys, half of them on the list. A {@code HashSet} of the list
 * alone would need ~1.1 GB.
 */
class SelectionMemoryTest {
  static final int PATHS = 10_000_000;
  static final int ASKED = 100_000;

  @TempDir
  Path dir;

  /** The child JVM: {@code paths-file keys-file work-dir}; prints what it selected and what it took. */
  public static void main(String[] args) throws Exception {
    Path work = Path.of(args[2]);
    long start = System.nanoTime();
    TrustedKeys anyKey = TrustedKeys.of(NixSecretKey.generate("cache-1", new SecureRandom()).publicKey());
    MigrateConfig config = new MigrateConfig(anyKey, 4, 2, 1 << 20, PackLayout.DEFAULT_BLOCK_SIZE,
        Codecs.defaultKind(), work, 0)
        .with(new ColdSelection(Optional.empty(), Optional.of(Path.of(args[0])), Optional.empty()), DrainConfig.DRY_RUN)
        .withKeysFrom(List.of(Path.of(args[1])));
    long listed = 0;
    long selected = 0;
    long built;
    try (Catalog catalog = Catalog.open("jdbc:sqlite:" + work.resolve("catalog.db"));
        MigrationInput input = MigrationInput.open(config, new DrainerTest.FakeObjects(), catalog, work,
            Clock.systemUTC(), System.out)) {
      built = System.nanoTime();
      while (input.keys().hasNext()) {
        String key = input.keys().next();
        listed++;
        if (input.wants(key.substring(0, 32))) {
          selected++;
        }
      }
    }
    long end = System.nanoTime();
    long peak = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        peak += pool.getPeakUsage().getUsed();
      }
    }
    System.out.printf(Locale.ROOT, "listed=%d selected=%d sort=%.1fs lookups=%.2fs max-heap=%dMiB heap-peak-sum=%dMiB%n",
        listed, selected, (built - start) / 1e9, (end - built) / 1e9, Runtime.getRuntime().maxMemory() >> 20,
        peak >> 20);
  }

  @Test
  void pathsOfTenMillion_selectIn256MiBHeap() throws Exception {
    long seed = new SecureRandom().nextLong();
    System.out.println("SelectionMemoryTest seed: " + seed);
    SplittableRandom random = new SplittableRandom(seed);
    List<String> asked = new ArrayList<>();
    Path paths = dir.resolve("paths.txt");
    byte[] line = new byte[33];
    line[32] = '\n';
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(paths), 1 << 20)) {
      for (int i = 0; i < PATHS; i++) {
        String hash = hash(random, line);
        out.write(line);
        if (i % (PATHS / ASKED) == 0) {
          asked.add(hash + ".narinfo");
        }
      }
    }
    for (int i = 0; i < ASKED; i++) {
      asked.add(hash(random, line) + ".narinfo");
    }
    // In key order, as a listing (or a sorted inventory) gives them.
    Collections.sort(asked);
    Path keys = Files.write(dir.resolve("keys.txt"), asked);
    Path work = Files.createDirectories(dir.resolve("work"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        SelectionMemoryTest.class.getName(), paths.toString(), keys.toString(), work.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "child JVM did not finish");
    assertEquals(0, p.exitValue(), out);
    System.out.print("SelectionMemoryTest: " + out);
    assertTrue(out.contains("listed=" + 2 * ASKED + " selected=" + ASKED + " "), out);
    try (var left = Files.list(work)) {
      assertEquals(List.of(work.resolve("catalog.db")), left.filter(f -> !f.getFileName().toString().startsWith("catalog.db-"))
          .toList(), "the sorted list is deleted with the run");
    }
  }

  /** A random store path hash, also written into {@code line}. */
  private static String hash(SplittableRandom random, byte[] line) {
    long bits = 0;
    for (int i = 0; i < 32; i++) {
      if (i % 12 == 0) {
        bits = random.nextLong();
      }
      line[i] = (byte) NixBase32.character((int) (bits & 31));
      bits >>>= 5;
    }
    return new String(line, 0, 32, StandardCharsets.US_ASCII);
  }
}
