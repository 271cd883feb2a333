package dev.narvault.encoder.sorted;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NixBase32;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreHashSetTest {
  @TempDir
  Path dir;

  static String randomHash(Random random) {
    char[] c = new char[32];
    for (int i = 0; i < 32; i++) {
      c[i] = NixBase32.character(random.nextInt(32));
    }
    return new String(c);
  }

  @Test
  void pack_sortsAsTheHashesDoAsText() {
    Random random = new Random(7);
    List<String> hashes = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      hashes.add(randomHash(random));
    }
    hashes.add("00000000000000000000000000000000");
    hashes.add("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    hashes.add("0000000000000000000000000000000z");
    for (String a : hashes.subList(0, 200)) {
      for (String b : hashes) {
        assertEquals(Integer.signum(a.compareTo(b)), Integer.signum(Arrays.compareUnsigned(StoreHashSet.pack(a),
            StoreHashSet.pack(b))), a + " vs " + b);
      }
    }
  }

  @Test
  void unpack_undoesPack_andHashesReadsTheSetInOrder() throws Exception {
    Random random = new Random(9);
    java.util.TreeSet<String> hashes = new java.util.TreeSet<>();
    try (StoreHashSet.Builder builder = StoreHashSet.builder(dir, 1 << 14)) {
      for (int i = 0; i < 3000; i++) {
        String h = randomHash(random);
        assertEquals(h, StoreHashSet.unpack(StoreHashSet.pack(h)));
        hashes.add(h);
        builder.add(h);
        builder.add(h);
      }
      try (StoreHashSet set = builder.finish(); StoreHashSet.Hashes in = set.hashes()) {
        List<String> read = new ArrayList<>();
        String h;
        while ((h = in.next()) != null) {
          read.add(h);
        }
        assertEquals(new ArrayList<>(hashes), read);
      }
    }
  }

  @Test
  void read_takesGzipAndXzLists_byTheirFirstBytes() throws Exception {
    String h = "0c6kzph7l0dcbhd5cbsy6cbcspzfqgs9";
    Path gz = dir.resolve("paths.txt");
    try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(("/nix/store/" + h + "-hello\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    try (StoreHashSet set = StoreHashSet.read(gz, dir, 1 << 16)) {
      assertTrue(set.contains(h));
      assertEquals(1, set.size());
    }
  }

  @Test
  void hashOf_takesStorePathsBaseNamesAndBareHashes() {
    String h = "0c6kzph7l0dcbhd5cbsy6cbcspzfqgs9";
    assertEquals(h, StoreHashSet.hashOf("/nix/store/" + h + "-hello-2.12"));
    assertEquals(h, StoreHashSet.hashOf(h + "-hello-2.12"));
    assertEquals(h, StoreHashSet.hashOf(h));
    assertNull(StoreHashSet.hashOf("/nix/store/" + h + "-hello/bin/hello"), "a path inside a store path");
    assertNull(StoreHashSet.hashOf(h + "x"));
    assertNull(StoreHashSet.hashOf("hello"));
    assertNull(StoreHashSet.hashOf("0c6kzph7l0dcbhd5cbsy6cbcspzfqgse"), "e is not nix32");
  }

  @Test
  void read_aListInAnyForm_containsExactlyItsHashes() throws Exception {
    Random random = new Random(11);
    List<String> in = new ArrayList<>();
    StringBuilder text = new StringBuilder("# live closures\n\n");
    for (int i = 0; i < 5000; i++) {
      String h = randomHash(random);
      in.add(h);
      text.append(switch (i % 3) {
        case 0 -> "/nix/store/" + h + "-p" + i;
        case 1 -> "  " + h + "-p" + i + "  ";
        default -> h;
      }).append('\n');
    }
    text.append(in.get(17)).append('\n');
    Path list = Files.writeString(dir.resolve("paths.txt"), text);
    try (StoreHashSet set = StoreHashSet.read(list, dir, 1 << 16)) {
      assertEquals(5000, set.size(), "a repeat counts once");
      for (String h : in) {
        assertTrue(set.contains(h), h);
      }
      for (int i = 0; i < 5000; i++) {
        assertFalse(set.contains(randomHash(random)));
      }
    }
  }

  @Test
  void read_badLineOrMissingFile_isRefusedWithWhere() throws Exception {
    Path list = Files.writeString(dir.resolve("paths.txt"), "0c6kzph7l0dcbhd5cbsy6cbcspzfqgs9\nhello\n");
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> StoreHashSet.read(list, dir, 1 << 16));
    assertTrue(bad.getMessage().contains("paths.txt:2: not a store path or hash: 'hello'"), bad.getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> StoreHashSet.read(dir.resolve("nope.txt"), dir, 1 << 16));
    assertTrue(missing.getMessage().contains("no such file"), missing.getMessage());
    try (var left = Files.list(dir)) {
      assertEquals(List.of(list), left.toList(), "no sorted or batch files left behind");
    }
  }
}
