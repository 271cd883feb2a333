package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.encoder.MigrationSummary;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Packs seal on a thread of their own while the next fills. A store path whose NAR object is in
 * the pack sealing at that moment must become an alias of it once it is committed: the object is
 * stored once, never twice, and both paths read back.
 */
class PipelinedSealTest {
  @TempDir
  Path dir;

  @Test
  void objectOfThePackStillSealing_becomesAnAliasOfIt_storedOnce() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new ArrayList<>(new CacheGenerator(key, cluster.objects)
          .generate(List.of(40_000, 50_000, 60_000, 70_000, 80_000, 90_000), 17, 2));
      paths.sort(Comparator.comparing(p -> p.storePath().hashPart()));
      // With one pack per NAR, path i's pack starts sealing when path i+1 arrives, and seals while
      // i+1's pack fills: a twin of path i whose hash sorts between i+1 and i+2 arrives exactly
      // then. One such twin for each of the first paths.
      List<StorePath> twins = new ArrayList<>();
      for (int i = 0; i + 2 < paths.size(); i++) {
        String after = paths.get(i + 1).storePath().hashPart();
        String before = paths.get(i + 2).storePath().hashPart();
        String text = new String(DrainTest.read(cluster, paths.get(i).storePath().hashPart() + ".narinfo"),
            StandardCharsets.UTF_8);
        NarInfo original = NarInfo.parse(text);
        StorePath twin = null;
        for (int n = 0; twin == null && n < 100_000; n++) {
          StorePath candidate = StorePath.makeSourcePath("twin-" + i + "-" + n, original.narHash(), List.of());
          String h = candidate.hashPart();
          if (h.compareTo(after) > 0 && h.compareTo(before) < 0) {
            twin = candidate;
          }
        }
        assertTrue(twin != null, "a twin name sorting between two paths exists");
        cluster.objects.put(twin.hashPart() + ".narinfo", key.sign(NarInfo.parse(text.replaceAll("Sig: .*\n", "")
            .replace(paths.get(i).storePath().toString(), twin.toString()))).toBytes(), "text/plain");
        twins.add(twin);
      }

      MigrationSummary summary = cluster.migrate(key.publicKey(), 4, 2, 0, 1);

      assertEquals(paths.size(), summary.packs(), "one pack per object, none stored twice");
      assertEquals(paths.size(), summary.narsArchived());
      assertEquals(twins.size(), summary.alreadyArchived(), "every twin is an alias");
      assertEquals(paths.size(), cluster.catalog.custody().packCount());
      for (int i = 0; i < twins.size(); i++) {
        ArchivedNar original = cluster.catalog.narByStoreHash(paths.get(i).storePath().hashPart()).orElseThrow();
        ArchivedNar twin = cluster.catalog.narByStoreHash(twins.get(i).hashPart()).orElseThrow();
        assertEquals(original.packId(), twin.packId(), "the twin points at its original's pack");
        assertEquals(original.packOffset(), twin.packOffset());
        assertTrue(twin.narInfo().contains(twins.get(i).toString()), "with its own narinfo");
      }
      RepairTest.assertReadsBack(cluster, DrainTest.objects(cluster, paths));
    }
  }
}
