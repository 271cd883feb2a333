package dev.narvault.repair.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder listing two million fragment ids it does not have cannot blow a rebuild's memory: a
 * child JVM with {@code -Xmx64m} rebuilds from it and five honest holders, restores the one real
 * pack, and reports the ids nobody answered for. The rebuild that kept every listing in memory
 * needed about 250 bytes of heap per listed id (500 MB here), and asked about every one of them.
 */
class RebuildMemoryTest {
  static final int MADE_UP = 2_000_000;

  @TempDir
  Path dir;

  /** The child JVM: {@code archive-key work-dir catalog name=endpoint...}; prints its progress and the result. */
  public static void main(String[] args) throws Exception {
    List<HolderRecord> records = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      String[] pair = args[i].split("=", 2);
      records.add(HolderRecord.registering(new HolderId(pair[0]), pair[1], "k:" + pair[0], 1L << 30, 0, 0, "v", "", "",
          1, "198.51." + i + ".1"));
    }
    long sortMemory = Math.clamp(Runtime.getRuntime().maxMemory() / 8, 1L << 20, 64L << 20);
    PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
    try (Catalog target = Catalog.open("jdbc:sqlite:" + args[2])) {
      CatalogRebuild.Result result = new CatalogRebuild(target, new HolderClient(Duration.ofSeconds(10)),
          TrustedKeys.of(NixPublicKey.parse(args[0])), quiet, System.out, InstantSource.system(),
          CatalogRebuild.Options.defaults(Path.of(args[1])).withSortMemory(sortMemory)).run(records);
      System.out.println(result);
    }
  }

  @Test
  void twoMillionMadeUpIds_rebuildIn64MiBHeap() throws Exception {
    NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
    TestPacks.Pack pack = TestPacks.pack(new Random(7), 3, 2, new int[] {700, 700}, archiveKey);
    try (FakeHolders holders = new FakeHolders()) {
      List<String> args = new ArrayList<>(List.of(archiveKey.publicKey().toString(), dir.resolve("work").toString(),
          dir.resolve("rebuilt.db").toString()));
      for (int i = 0; i < 5; i++) {
        holders.holds("h" + i, pack.fragmentId(i), pack.fragments().get(i));
        args.add("h" + i + "=" + holders.endpoint("h" + i));
      }
      holders.holds("h0", pack.documentId(), pack.document());
      holders.holder("huge").generated = (after, limit) -> {
        long from = after.isEmpty() ? 0 : Long.parseUnsignedLong(after.substring(48), 16) + 1;
        List<String> ids = new ArrayList<>();
        for (long i = from; i < Math.min(MADE_UP, from + limit); i++) {
          // In order, spread over the whole space of ids; the last 16 digits count them.
          ids.add(String.format("%016x", i * (Long.divideUnsigned(-1L, MADE_UP))) + "0".repeat(32)
              + String.format("%016x", i));
        }
        return new HolderMessages.Listing(ids, from + limit < MADE_UP);
      };
      args.add("huge=" + holders.endpoint("huge"));
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> command = new ArrayList<>(List.of(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
          RebuildMemoryTest.class.getName()));
      command.addAll(args);
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(3, TimeUnit.MINUTES), "child JVM did not finish");
      System.out.print("RebuildMemoryTest: " + out);
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("rebuilt from 6 holders (" + (MADE_UP + 6) + " fragments listed): 1 packs, 2 NARs"), out);
      assertTrue(out.contains("; " + MADE_UP + " listed ids could not be read"), out);
    }
  }
}
