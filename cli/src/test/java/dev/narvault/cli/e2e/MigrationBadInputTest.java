package dev.narvault.cli.e2e;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.encoder.MigrationSummary;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Migration meets bad input: each bad object is rejected with a reason, the rest archived, nothing lost. */
class MigrationBadInputTest {
  @TempDir
  Path dir;

  private static byte[] read(Cluster c, String key) throws IOException {
    try (InputStream in = c.objects.open(key)) {
      return in.readAllBytes();
    }
  }

  @Test
  void badNarinfosAndNars_areRejected_othersArchived_s3Untouched() throws Exception {
    try (Cluster cluster = new Cluster(dir, 6)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> p = new CacheGenerator(key, cluster.objects)
          .generate(List.of(2000, 3000, 4000, 5000, 6000, 7000), 3, 2);
      // 0: signed by a stranger
      NixSecretKey stranger = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      String info0 = new String(read(cluster, p.get(0).storePath().hashPart() + ".narinfo"), StandardCharsets.UTF_8);
      String resigned = stranger.sign(NarInfo.parse(info0.replaceAll("Sig: .*\n", ""))).text();
      cluster.objects.put(p.get(0).storePath().hashPart() + ".narinfo", resigned.getBytes(StandardCharsets.UTF_8), "text/plain");
      // 1: NAR object with a flipped byte
      byte[] nar1 = read(cluster, p.get(1).narKey());
      nar1[nar1.length / 2] ^= 1;
      cluster.objects.put(p.get(1).narKey(), nar1, "application/x-nix-nar");
      // 2: NAR object missing
      cluster.objects.delete(p.get(2).narKey());
      // 3: malformed narinfo
      cluster.objects.put(p.get(3).storePath().hashPart() + ".narinfo", "StorePath: nonsense\n".getBytes(StandardCharsets.UTF_8), "text/plain");

      // 6: another path whose narinfo points at path 5's NAR object (same bytes): packed once.
      String info5 = new String(read(cluster, p.get(5).storePath().hashPart() + ".narinfo"), StandardCharsets.UTF_8);
      NarInfo info5parsed = NarInfo.parse(info5);
      StorePath twinPath = StorePath.makeSourcePath("twin",
          info5parsed.narHash(), List.of());
      NarInfo twin = NarInfo.parse(info5.replaceAll("Sig: .*\n", "")
          .replace(p.get(5).storePath().toString(), twinPath.toString()));
      String twinHash = twinPath.hashPart();
      cluster.objects.put(twinHash + ".narinfo", key.sign(twin).toBytes(), "text/plain");

      // 7: a validly signed narinfo for another NAR (path 4's NarHash) whose unsigned URL and
      // FileHash name path 5's object: it must not become an alias of bytes it did not sign.
      String info4 = new String(read(cluster, p.get(4).storePath().hashPart() + ".narinfo"), StandardCharsets.UTF_8);
      NarInfo info4parsed = NarInfo.parse(info4);
      StorePath impostorPath = StorePath.makeSourcePath("impostor", info4parsed.narHash(), List.of());
      String impostorText = info4.replaceAll("Sig: .*\n", "")
          .replace(p.get(4).storePath().toString(), impostorPath.toString())
          .replace("URL: " + info4parsed.url(), "URL: " + info5parsed.url())
          .replace("FileHash: " + info4parsed.fileHash().orElseThrow().toNixString(),
              "FileHash: " + info5parsed.fileHash().orElseThrow().toNixString())
          .replace("FileSize: " + info4parsed.fileSize().getAsLong(), "FileSize: " + info5parsed.fileSize().getAsLong());
      cluster.objects.put(impostorPath.hashPart() + ".narinfo", key.sign(NarInfo.parse(impostorText)).toBytes(),
          "text/plain");

      byte[] before = read(cluster, p.get(4).narKey());
      MigrationSummary summary = cluster.migrate(key.publicKey(), 3, 2);
      assertEquals(5, summary.rejected(), summary.toString());
      assertTrue(cluster.catalog.narByStoreHash(impostorPath.hashPart()).isEmpty(), "the impostor is not archived");
      assertEquals(2, summary.narsArchived(), summary.toString());
      assertEquals(1, summary.alreadyArchived(), "the twin's NAR object is already in the pack");
      var original = cluster.catalog.narByStoreHash(p.get(5).storePath().hashPart()).orElseThrow();
      var alias = cluster.catalog.narByStoreHash(twinHash).orElseThrow();
      assertEquals(original.packOffset(), alias.packOffset(), "both store paths point at the one stored object");
      assertEquals(original.packId(), alias.packId());
      assertTrue(alias.narInfo().contains(twinPath.toString()), "each keeps its own narinfo");
      String manifest = cluster.catalog.signedManifest(original.packId()).orElseThrow();
      assertEquals(2, manifest.split("\"key\":\"" + Pattern.quote(p.get(5).narKey()), -1).length - 1,
          "listed twice in the manifest");
      for (int i = 0; i < 4; i++) {
        assertTrue(cluster.catalog.narByStoreHash(p.get(i).storePath().hashPart()).isEmpty(), "bad path " + i + " archived");
      }
      for (int i = 4; i < 6; i++) {
        assertTrue(cluster.catalog.narByStoreHash(p.get(i).storePath().hashPart()).isPresent(), "good path " + i + " missing");
      }
      // S3 still has every object it had: migrate deletes nothing.
      assertArrayEquals(before, read(cluster, p.get(4).narKey()));
      assertArrayEquals(nar1, read(cluster, p.get(1).narKey()));
    }
  }

  @Test
  void limit_stopsAfterThatManyNars_andLeavesNoSpoolFilesBehind() throws Exception {
    try (Cluster cluster = new Cluster(dir, 5)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(1000, 2000, 3000, 4000, 5000, 6000, 7000), 9, 2);
      MigrationSummary first = cluster.migrate(key.publicKey(), 3, 2, 2);
      assertEquals(2, first.narsArchived(), first.toString());
      assertEquals(2, cluster.catalog.totals()[1]);
      // The next run continues the listing after the first run's checkpoint...
      MigrationSummary rest = cluster.migrate(key.publicKey(), 3, 2, 0);
      assertEquals(5, rest.narsArchived(), rest.toString());
      assertEquals(0, rest.alreadyArchived(), "the two archived are before its checkpoint: " + rest);
      // ...to the end, so the one after starts a new pass from the beginning.
      MigrationSummary again = cluster.migrate(key.publicKey(), 3, 2, 0);
      assertEquals(0, again.narsArchived(), again.toString());
      assertEquals(7, again.alreadyArchived(), again.toString());
      try (Stream<Path> left = Files.walk(dir.resolve("work"))) {
        assertEquals(List.of(dir.resolve("work")), left.toList(), "no spool, fragment or fetched files left");
      }
    }
  }

  @Test
  void failingHolders_areSkipped_andTooFewFailsWithoutRecordingThePack() throws Exception {
    try (Cluster cluster = new Cluster(dir, 7)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      new CacheGenerator(key, cluster.objects).generate(List.of(2000, 3000), 4, 2);
      cluster.stopHolder(1);
      MigrationSummary summary = cluster.migrate(key.publicKey(), 4, 2);
      assertEquals(2, summary.narsArchived());
      PackId packId = cluster.catalog.narByStoreHash(cluster.firstArchived()).orElseThrow().packId();
      var placements = cluster.catalog.placements(packId);
      assertEquals(6, placements.size());
      assertTrue(placements.stream().noneMatch(pl -> pl.endpoint().equals(cluster.holders.get(1).endpoint().toString())));
      assertEquals(6, placements.stream().map(pl -> pl.holderId()).distinct().count(), "one fragment per holder");

      new CacheGenerator(key, cluster.objects).generate(List.of(9000), 5, 1);
      cluster.stopHolder(2);
      long[] before = cluster.catalog.totals();
      IOException e = assertThrows(IOException.class, () -> cluster.migrate(key.publicKey(), 4, 2));
      // Either the coordinator runs out of holders that satisfy its rules, or uploads keep failing.
      assertTrue(e.getMessage().contains("qualify") || e.getMessage().contains("found no holder"), e.getMessage());
      assertArrayEquals(before, cluster.catalog.totals(), "a pack that could not be placed is not recorded");
    }
  }
}
