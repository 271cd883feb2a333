package dev.narvault.encoder.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import dev.narvault.encoder.sorted.StoreHashSet;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Hot roots' closures over narinfo References, on disk, against an in-memory cache. */
class HotClosureTest {
  private static final String ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
  private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

  @TempDir
  Path dir;

  /** A cache of narinfos only: what the closure reads. */
  static final class Narinfos implements ObjectSource {
    final Map<String, byte[]> objects = new HashMap<>();
    final AtomicInteger reads = new AtomicInteger();

    @Override
    public void list(String prefix, Consumer<StoredObject> each) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void listTopLevel(String startAfter, Predicate<StoredObject> each) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String location() {
      return "memory://narinfos";
    }

    @Override
    public OpenedObject openObject(String key, Optional<String> range) throws ObjectNotFoundException {
      reads.incrementAndGet();
      byte[] bytes = objects.get(key);
      if (bytes == null) {
        throw new ObjectNotFoundException(key);
      }
      return new OpenedObject(new ByteArrayInputStream(bytes), bytes.length);
    }

    @Override
    public StoredObject stat(String key) throws ObjectNotFoundException {
      throw new ObjectNotFoundException(key);
    }

    @Override
    public void put(String key, byte[] bytes, String contentType) {
      objects.put(key, bytes);
    }

    @Override
    public void put(String key, Path file, String contentType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void delete(String key) {
      objects.remove(key);
    }

    @Override
    public void copyTo(String key, String bucket, Optional<String> storageClass) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {}

    void add(String hash, List<String> references) {
      Sha256Hash h = Sha256Hash.of(hash.getBytes(StandardCharsets.UTF_8));
      List<StorePath> refs = references.stream().map(r -> StorePath.parse("/nix/store/" + r + "-p")).toList();
      NarInfo info = NarInfo.create(StorePath.parse("/nix/store/" + hash + "-p"), "nar/" + h.toNix32() + ".nar", "none",
          h, 1, h, 1, refs);
      objects.put(hash + ".narinfo", info.toBytes());
    }
  }

  static String hash(Random random) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 32; i++) {
      s.append(ALPHABET.charAt(random.nextInt(32)));
    }
    return s.toString();
  }

  private Path xzList(String name, List<String> hashes) throws Exception {
    Path file = dir.resolve(name);
    try (OutputStream out = new XZOutputStream(Files.newOutputStream(file), new LZMA2Options())) {
      for (String h : hashes) {
        out.write(("/nix/store/" + h + "-root\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    return file;
  }

  @Test
  void compute_isEveryPathReachable_throughChainsCyclesAndMissingNarinfos() throws Exception {
    Random random = new Random(11);
    Narinfos cache = new Narinfos();
    List<String> chain = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      chain.add(hash(random));
    }
    for (int i = 0; i < 60; i++) {
      // Each refers to itself and the next; the last back to the first (a cycle).
      cache.add(chain.get(i), List.of(chain.get(i), chain.get((i + 1) % 60)));
    }
    String missing = hash(random);
    String unreadable = hash(random);
    String behindUnreadable = hash(random);
    String root = hash(random);
    String unrelated = hash(random);
    cache.add(root, List.of(chain.getFirst(), missing, unreadable));
    cache.objects.put(unreadable + ".narinfo", ("StorePath: /nix/store/" + unreadable + "-x\nReferences: "
        + behindUnreadable + "-y\n").getBytes(StandardCharsets.UTF_8));
    cache.add(unrelated, List.of(chain.get(5)));
    HotClosure.Result r = HotClosure.compute(List.of(xzList("store-paths.xz", List.of(root))), cache, dir, 1 << 16,
        QUIET);
    try (StoreHashSet closure = r.paths()) {
      assertEquals(63, closure.size(), r.toString());
      for (String h : chain) {
        assertTrue(closure.contains(h));
      }
      assertTrue(closure.contains(root));
      assertTrue(closure.contains(missing), "a path without a narinfo is in the closure");
      assertTrue(closure.contains(unreadable));
      assertFalse(closure.contains(behindUnreadable), "nothing is known of what an unreadable narinfo names");
      assertFalse(closure.contains(unrelated), "referring to the closure does not make a path part of it");
      assertEquals(1, r.missing());
      assertEquals(1, r.unreadable());
      assertEquals(1, r.roots());
      assertEquals(61, r.levels(), "a level per link of the chain, and the last finding nothing new");
    }
    assertEquals(Set.of(), leftovers(), "every intermediate file deleted");
  }

  @Test
  void compute_matchesAnInMemoryWalk_onARandomGraph_inASmallSortBudget() throws Exception {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    Narinfos cache = new Narinfos();
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      paths.add(hash(random));
    }
    Map<String, List<String>> refs = new HashMap<>();
    for (String p : paths) {
      List<String> r = new ArrayList<>();
      for (int j = random.nextInt(4); j > 0; j--) {
        r.add(paths.get(random.nextInt(paths.size())));
      }
      refs.put(p, r);
      if (random.nextInt(50) != 0) {
        cache.add(p, r);
      }
    }
    List<String> roots = paths.subList(0, 40);
    Set<String> expected = new HashSet<>(roots);
    ArrayDeque<String> queue = new ArrayDeque<>(roots);
    while (!queue.isEmpty()) {
      String p = queue.poll();
      if (!cache.objects.containsKey(p + ".narinfo")) {
        continue;
      }
      for (String r : refs.get(p)) {
        if (expected.add(r)) {
          queue.add(r);
        }
      }
    }
    Path plain = Files.writeString(dir.resolve("roots.txt"), String.join("\n", roots.subList(0, 20)) + "\n");
    Path xz = xzList("more.xz", roots.subList(20, 40));
    HotClosure.Result r = HotClosure.compute(List.of(plain, xz), cache, dir, 1 << 14, QUIET);
    try (StoreHashSet closure = r.paths()) {
      assertEquals(expected.size(), closure.size(), "seed " + seed);
      for (String p : paths) {
        assertEquals(expected.contains(p), closure.contains(p), "seed " + seed + ", path " + p);
      }
      assertTrue(cache.reads.get() <= expected.size(), "each narinfo read once: " + cache.reads.get());
    }
  }

  @Test
  void compute_refusesAListLineThatIsNoStorePath() throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.txt"), "/nix/store/" + hash(new Random(1)) + "-ok\nhello\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HotClosure.compute(List.of(bad), new Narinfos(), dir, 1 << 16, QUIET));
    assertTrue(e.getMessage().contains("bad.txt:2"), e.getMessage());
  }

  private Set<Path> leftovers() throws Exception {
    try (var files = Files.list(dir)) {
      Set<Path> left = new HashSet<>();
      files.filter(f -> !f.getFileName().toString().endsWith(".xz") && !f.getFileName().toString().endsWith(".txt"))
          .forEach(left::add);
      return left;
    }
  }
}
