package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.NixSecretKey;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code narvault migrate} refuses bad input before it archives anything, saying which file or
 * value is wrong and how: exit status 2. Nothing here reaches S3 or a coordinator (none runs).
 */
class MigrateInputErrorsTest {
  private static final NixSecretKey ARCHIVE_KEY = NixSecretKey.generate("narvault-archive-1", new SecureRandom());

  @TempDir
  Path dir;
  private List<String> base;

  @BeforeEach
  void keys() throws Exception {
    Path workerKey = Files.writeString(dir.resolve("worker.key"),
        NixSecretKey.generate("migrate-1", new SecureRandom()).toFileContents() + "\n");
    Files.writeString(dir.resolve("archive.key"), ARCHIVE_KEY.toFileContents() + "\n");
    base = List.of("migrate", "--bucket", "cache", "--s3-endpoint", "http://127.0.0.1:9", "--catalog",
        "jdbc:sqlite:" + dir.resolve("catalog.db"), "--coordinator", "http://127.0.0.1:9", "--worker-key",
        workerKey.toString(), "--trusted-public-key",
        NixSecretKey.generate("cache-1", new SecureRandom()).publicKey().toString(), "--archive-key",
        dir.resolve("archive.key").toString(), "--work-dir", dir.resolve("work").toString());
  }

  /** Runs migrate with {@code more} options; answers its exit status and what it printed on stderr. */
  private Object[] run(String... more) {
    List<String> args = new ArrayList<>(base);
    args.addAll(List.of(more));
    CommandLine cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    int status = cli.execute(args.toArray(String[]::new));
    return new Object[] {status, err.toString()};
  }

  private void assertRefused(String expected, String... more) {
    Object[] result = run(more);
    assertEquals(2, result[0], String.valueOf(result[1]));
    assertTrue(result[1].toString().contains(expected), "'" + expected + "' in: " + result[1]);
  }

  @Test
  void missingFiles_areNamedWithTheirOption() {
    assertRefused("--keys-from: no such file: " + dir.resolve("inventory.json"), "--keys-from",
        dir.resolve("inventory.json").toString());
    assertRefused("--paths: no such file: " + dir.resolve("paths.txt"), "--paths", dir.resolve("paths.txt").toString());
    assertRefused("--exclude: no such file: " + dir.resolve("live.txt"), "--exclude", dir.resolve("live.txt").toString());
  }

  @Test
  void badShards_sayWhatAShardIs() {
    assertRefused("--shard must be I/N with 1 <= I <= N <= 1048576, got 3/2", "--shard", "3/2");
    assertRefused("--shard must be I/N with 1 <= I <= N <= 1048576, got 0/4", "--shard", "0/4");
    assertRefused("--shard must be I/N, e.g. 1/4 (the first of four), got 'half'", "--shard", "half");
  }

  @Test
  void malformedManifests_areRefusedBeforeAnyWork() throws Exception {
    Path notJson = Files.writeString(dir.resolve("manifest.json"), "{\"fileFormat\": \"CSV\",");
    assertRefused(notJson + ": not an S3 Inventory manifest, not valid JSON", "--keys-from", notJson.toString());
    Path noKey = Files.writeString(dir.resolve("nokey.json"),
        "{\"fileFormat\": \"CSV\", \"fileSchema\": \"Bucket, Size, LastModifiedDate\", \"files\": []}");
    assertRefused(noKey + ": its fileSchema has no Key column: 'Bucket, Size, LastModifiedDate'", "--keys-from",
        noKey.toString());
    Path missingData = Files.writeString(dir.resolve("gone.json"),
        "{\"fileFormat\": \"CSV\", \"fileSchema\": \"Bucket, Key\", \"files\": [{\"key\": \"inv/data/a.csv.gz\"}]}");
    assertRefused("cannot find the inventory file inv/data/a.csv.gz on local disk", "--keys-from",
        missingData.toString());
    assertRefused("--restart-listing is for runs that list the bucket", "--keys-from", noKey.toString(),
        "--restart-listing");
  }

  @Test
  void aListOfTheWrongThings_isRefused() throws Exception {
    Path paths = Files.writeString(dir.resolve("paths.txt"), "/nix/store/0c6kzph7l0dcbhd5cbsy6cbcspzfqgs9-hello\n"
        + "hello-2.12\n");
    assertRefused(paths + ":2: not a store path or hash: 'hello-2.12'", "--paths", paths.toString());
    Path narKeys = Files.writeString(dir.resolve("nar-keys.txt"), "nar/0a.nar.xz\nnar/0b.nar.xz\n");
    assertRefused(narKeys + ": not one <hash>.narinfo key in its 2 keys", "--keys-from", narKeys.toString());
  }

  @Test
  void aMissingArchiveKey_isRefusedSayingHowToMakeOne_andNothingIsCreated() throws Exception {
    Path elsewhere = dir.resolve("wrong-directory");
    Files.createDirectories(elsewhere);
    List<String> args = new ArrayList<>(base);
    args.set(args.indexOf("--archive-key") + 1, elsewhere.resolve("archive.key").toString());
    CommandLine cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err, true));
    assertEquals(2, cli.execute(args.toArray(String[]::new)), err.toString());
    assertTrue(err.toString().contains("--archive-key " + elsewhere.resolve("archive.key") + ": no such file")
        && err.toString().contains("narvault keygen FILE --name narvault-archive-1")
        && err.toString().contains("migrate never creates it"), err.toString());
    try (var left = Files.list(elsewhere)) {
      assertEquals(0, left.count(), "no key was made");
    }
    assertTrue(!Files.exists(dir.resolve("catalog.db")) && !Files.exists(dir.resolve("work")),
        "nothing else was made either");
    List<String> without = new ArrayList<>(base);
    without.subList(without.indexOf("--archive-key"), without.indexOf("--archive-key") + 2).clear();
    err.getBuffer().setLength(0);
    assertEquals(2, cli.execute(without.toArray(String[]::new)), err.toString());
    assertTrue(err.toString().contains("--archive-key FILE is required. The archive key is made once, with "
        + "narvault keygen"), err.toString());
    assertTrue(!Files.exists(dir.resolve("catalog.db")), "nothing was made");
  }

  @Test
  void aDrain_needsTheTrustedArchiveKeys_andItsKeyAmongThem() {
    assertRefused("--drain needs --archive-public-key", "--drain");
    NixSecretKey other = NixSecretKey.generate("narvault-archive-2", new SecureRandom());
    assertRefused("the archive key signs as " + ARCHIVE_KEY.publicKey() + ", which the trusted archive keys "
        + "(--archive-public-key) do not include", "--drain", "--archive-public-key", other.publicKey().toString());
    assertRefused("do not include", "--archive-public-key", other.publicKey().toString());
  }
}
