package dev.narvault.encoder.input;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.s3.InventoryFiles;
import dev.narvault.core.s3.StoredObject;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyFilesTest {
  @TempDir
  Path dir;

  private static String hash(Random random) {
    char[] c = new char[32];
    for (int i = 0; i < 32; i++) {
      c[i] = NixBase32.character(random.nextInt(32));
    }
    return new String(c);
  }

  private static List<String> all(NarInfoKeys keys) {
    List<String> out = new ArrayList<>();
    try (keys) {
      keys.forEachRemaining(out::add);
    }
    return out;
  }

  /** A cache's objects: a narinfo and a NAR per path, a few others. */
  private static List<StoredObject> bucket(int paths, Random random) {
    List<StoredObject> objects = new ArrayList<>();
    objects.add(new StoredObject("nix-cache-info", 30, Instant.parse("2020-01-01T00:00:00Z")));
    for (int i = 0; i < paths; i++) {
      objects.add(new StoredObject(hash(random) + ".narinfo", 500, Instant.parse("2024-01-02T00:00:00Z")));
      objects.add(new StoredObject("nar/" + hash(random) + hash(random).substring(0, 20) + ".nar.xz", 9000,
          Instant.ofEpochSecond(1_600_000_000L + i)));
    }
    objects.add(new StoredObject("log/some build log", 100, Instant.parse("2020-01-01T00:00:00Z")));
    return objects;
  }

  private static List<String> narInfoKeys(List<StoredObject> objects) {
    return objects.stream().map(StoredObject::key).filter(k -> k.endsWith(".narinfo")).toList();
  }

  @Test
  void keyList_plainOrGzip_orAsAwsS3LsPrintsIt_givesItsNarInfoKeysInOrder() throws Exception {
    List<StoredObject> objects = bucket(50, new Random(1));
    StringBuilder plain = new StringBuilder("# a listing\n\n");
    StringBuilder ls = new StringBuilder();
    for (StoredObject o : objects) {
      plain.append(o.key()).append('\n');
      ls.append("2024-01-02 00:00:00       ").append(o.size()).append(' ').append(o.key()).append('\n');
    }
    // A repeat right after itself (a list of versions) is one key.
    plain.append(objects.getLast().key()).append('\n');
    Path plainFile = Files.writeString(dir.resolve("keys.txt"), plain + narInfoKeys(objects).getLast() + "\n");
    Path gzFile = dir.resolve("ls.txt.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gzFile))) {
      out.write(ls.toString().getBytes(StandardCharsets.UTF_8));
    }
    List<String> expected = narInfoKeys(objects);
    assertEquals(expected, all(KeyFiles.open(List.of(plainFile)).narInfoKeys(Shard.ALL)));
    assertEquals(expected, all(KeyFiles.open(List.of(gzFile)).narInfoKeys(Shard.ALL)));
    List<String> both = new ArrayList<>(expected);
    both.addAll(expected);
    assertEquals(both, all(KeyFiles.open(List.of(plainFile, gzFile)).narInfoKeys(Shard.ALL)), "file after file");
    assertEquals(expected.stream().filter(new Shard(2, 3)::contains).toList(),
        all(KeyFiles.open(List.of(gzFile)).narInfoKeys(new Shard(2, 3))), "only the shard's");
  }

  @Test
  void inventory_foundWhereAwsS3SyncPutsIt_givesNarInfoKeysAndNarAges() throws Exception {
    List<StoredObject> objects = bucket(40, new Random(2));
    Path manifest = InventoryFiles.write(dir, "cache", objects, 3);
    KeyFiles files = KeyFiles.open(List.of(manifest));
    assertEquals(narInfoKeys(objects), all(files.narInfoKeys(Shard.ALL)));
    assertTrue(files.hasLastModified());
    Path work = Files.createDirectories(dir.resolve("work"));
    try (NarAges ages = files.narAges(work, 1 << 20)) {
      assertEquals(40, ages.count(), "the NAR objects, not narinfos or logs");
      for (StoredObject o : objects) {
        if (o.key().startsWith("nar/")) {
          assertEquals(Optional.of(o.lastModified()), ages.lastModified(o.key()), o.key());
        }
      }
      assertEquals(Optional.empty(), ages.lastModified("nar/" + "0".repeat(52) + ".nar.xz"));
    }
  }

  @Test
  void inventory_filesBesideTheManifest_areFoundToo() throws Exception {
    List<StoredObject> objects = bucket(10, new Random(3));
    Path synced = InventoryFiles.write(dir.resolve("synced"), "cache", objects, 2);
    Path flat = Files.createDirectories(dir.resolve("flat"));
    Files.copy(synced, flat.resolve("manifest.json"));
    try (var data = Files.list(synced.getParent().resolveSibling("data"))) {
      for (Path f : data.toList()) {
        Files.copy(f, flat.resolve(f.getFileName()));
      }
    }
    Path renamed = flat.resolve("manifest.json");
    assertEquals(narInfoKeys(objects), all(KeyFiles.open(List.of(renamed)).narInfoKeys(Shard.ALL)));
  }

  @Test
  void inventory_keysAreUrlDecoded_deleteMarkersAndOldVersionsPassedOver() throws Exception {
    Random random = new Random(4);
    String live = hash(random) + ".narinfo";
    String deleted = hash(random) + ".narinfo";
    String old = hash(random) + ".narinfo";
    List<StoredObject> objects = List.of(new StoredObject(live, 1, Instant.EPOCH), new StoredObject(deleted, 1,
        Instant.EPOCH), new StoredObject(old, 1, Instant.EPOCH), new StoredObject("a key with spaces", 1, Instant.EPOCH));
    Path manifest = InventoryFiles.write(dir, "cache", objects, 1, "Bucket, Key, IsLatest, IsDeleteMarker",
        o -> List.of("cache", o.key(), o.key().equals(old) ? "false" : "true", o.key().equals(deleted) ? "true" : "false"));
    assertEquals(List.of(live), all(KeyFiles.open(List.of(manifest)).narInfoKeys(Shard.ALL)));
    assertTrue(Files.readString(manifest).contains("IsLatest"));
    assertEquals(false, KeyFiles.open(List.of(manifest)).hasLastModified());
  }

  private IllegalArgumentException refused(Path file) {
    return assertThrows(IllegalArgumentException.class, () -> all(KeyFiles.open(List.of(file)).narInfoKeys(Shard.ALL)));
  }

  private static void assertSays(IllegalArgumentException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' in: " + e.getMessage());
    }
  }

  @Test
  void badInput_isRefusedNamingTheFileAndWhatIsWrong() throws Exception {
    assertSays(refused(dir.resolve("missing.txt")), "no such file", "missing.txt");
    assertSays(refused(Files.writeString(dir.resolve("m1.json"), "{\"fileFormat\": \"CSV\", ")), "m1.json",
        "not valid JSON");
    assertSays(refused(Files.writeString(dir.resolve("m2.json"), "{\"fileFormat\": \"ORC\", \"fileSchema\": \"Key\", "
        + "\"files\": []}")), "m2.json", "fileFormat is ORC", "CSV inventories only");
    assertSays(refused(Files.writeString(dir.resolve("m3.json"), "{\"fileFormat\": \"CSV\", \"fileSchema\": "
        + "\"Bucket, Size\", \"files\": []}")), "m3.json", "no Key column", "Bucket, Size");
    assertSays(refused(Files.writeString(dir.resolve("m4.json"), "{\"fileFormat\": \"CSV\", \"fileSchema\": \"Key\","
        + " \"files\": [{\"key\": \"inv/cache/x/data/gone.csv.gz\", \"size\": 10}]}")), "m4.json",
        "cannot find the inventory file inv/cache/x/data/gone.csv.gz", "aws s3 sync");
    assertSays(refused(Files.writeString(dir.resolve("m5.json"), "{\"fileSchema\": \"Key\", \"files\": []}")),
        "m5.json", "no \"fileFormat\"");
    assertSays(refused(Files.writeString(dir.resolve("nar-keys.txt"), "nar/abc.nar.xz\nnix-cache-info\n")),
        "nar-keys.txt", "not one <hash>.narinfo key in its 2 keys");
  }

  @Test
  void damagedInventoryFiles_areRefused() throws Exception {
    Random random = new Random(5);
    List<StoredObject> objects = bucket(5, random);
    Path manifest = InventoryFiles.write(dir.resolve("a"), "cache", objects, 1);
    Path data;
    try (var files = Files.list(manifest.getParent().resolveSibling("data"))) {
      data = files.findFirst().orElseThrow();
    }
    byte[] whole = Files.readAllBytes(data);
    Files.write(data, java.util.Arrays.copyOf(whole, whole.length - 3));
    assertSays(refused(manifest), "bytes but the manifest says", "a partial download");
    // Same length, another file: the MD5 tells (when the file is read).
    Path other = InventoryFiles.write(dir.resolve("b"), "cache", bucket(5, random), 1);
    try (var files = Files.list(other.getParent().resolveSibling("data"))) {
      Path swapped = files.findFirst().orElseThrow();
      String text = Files.readString(manifest).replaceAll("\"size\": \\d+", "\"size\": " + Files.size(swapped));
      Files.writeString(manifest, text);
      Files.copy(swapped, data, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    InputFailedException md5 = assertThrows(InputFailedException.class,
        () -> all(KeyFiles.open(List.of(manifest)).narInfoKeys(Shard.ALL)));
    assertTrue(md5.getMessage().contains("has MD5") && md5.getMessage().contains("a damaged or different file"),
        md5.getMessage());
  }

  @Test
  void malformedCsvRows_areRefusedWithFileAndLine() throws Exception {
    Random random = new Random(6);
    String key = hash(random) + ".narinfo";
    for (String[] bad : new String[][] {
        {"\"cache\",\"" + key + "\",\"10\"", "3 fields, but the manifest's fileSchema has 4"},
        {"\"cache\",\"" + key + "\",\"10\",\"yesterday\"", "LastModifiedDate 'yesterday' is not an ISO-8601 time"},
        {"\"cache\",\"" + key + "\",\"10\",\"2024-01-01T00:00:00Z", "a quoted field is not closed"},
        {"\"cache\",\"%zz\",\"10\",\"2024-01-01T00:00:00Z\"", "the key is not URL-encoded text"}}) {
      Path manifest = InventoryFiles.write(dir.resolve("r" + bad[1].length()), "cache",
          List.of(new StoredObject(key, 10, Instant.EPOCH)), 1);
      Path data;
      try (var files = Files.list(manifest.getParent().resolveSibling("data"))) {
        data = files.findFirst().orElseThrow();
      }
      try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(data))) {
        out.write(("\"cache\",\"" + key + "\",\"10\",\"2024-01-01T00:00:00Z\"\n" + bad[0] + "\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      Files.writeString(manifest, Files.readString(manifest).replaceAll("\"size\": \\d+", "\"size\": " + Files.size(data))
          .replaceAll(", \"MD5checksum\": \"[0-9a-f]+\"", ""));
      assertSays(refused(manifest), data.getFileName() + ":2: ", bad[1]);
    }
  }

  @Test
  void open_anInventoryOfAnotherBucket_isRefused() throws Exception {
    Path manifest = InventoryFiles.write(dir.resolve("inv"), "cache-a", bucket(3, new Random(5)), 1);
    KeyFiles.open(List.of(manifest), Optional.of("cache-a"));
    var e = assertThrows(IllegalArgumentException.class,
        () -> KeyFiles.open(List.of(manifest), Optional.of("cache-b")));
    assertTrue(e.getMessage().contains("inventory of bucket cache-a") && e.getMessage().contains("cache-b"),
        e.getMessage());
  }
}
