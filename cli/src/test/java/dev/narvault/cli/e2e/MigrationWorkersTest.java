package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.MigrationSummary;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several migrate workers share one catalog (PostgreSQL when {@code NARVAULT_TEST_POSTGRES_URL}
 * names one, as in CI; SQLite otherwise): they split the objects by claims and never archive one
 * object twice; what one left to the other is picked up by the next run.
 */
class MigrationWorkersTest {
  @TempDir
  Path dir;

  private String catalogUrl() throws Exception {
    return catalogUrl(dir);
  }

  /** A fresh catalog for workers to share: a schema of its own on PostgreSQL when there is one, else SQLite in {@code dir}. */
  static String catalogUrl(Path dir) throws Exception {
    String pg = System.getenv("NARVAULT_TEST_POSTGRES_URL");
    if (pg == null || pg.isBlank()) {
      return "jdbc:sqlite:" + dir.resolve("catalog.db");
    }
    String schema = "w" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = DriverManager.getConnection(pg); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    return pg + (pg.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  @Test
  void threeWorkersAtOnce_archiveEveryObjectExactlyOnce() throws Exception {
    try (Cluster cluster = new Cluster(dir.resolve("c"), 8, Duration.ofHours(1), catalogUrl())) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<Integer> sizes = new ArrayList<>();
      for (int i = 0; i < 36; i++) {
        sizes.add(10_000 + 3_000 * i);
      }
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects).generate(sizes, 51, 2);
      // Twins: other store paths naming the same objects, so workers also race on aliases.
      List<String> twins = new ArrayList<>();
      for (int i = 0; i < 36; i += 6) {
        String text = new String(DrainTest.read(cluster, paths.get(i).storePath().hashPart() + ".narinfo"),
            StandardCharsets.UTF_8);
        NarInfo info = NarInfo.parse(text);
        StorePath twin = StorePath.makeSourcePath("twin" + i, info.narHash(), List.of());
        cluster.objects.put(twin.hashPart() + ".narinfo", key.sign(NarInfo.parse(text.replaceAll("Sig: .*\n", "")
            .replace(paths.get(i).storePath().toString(), twin.toString()))).toBytes(), "text/plain");
        twins.add(twin.hashPart());
      }
      MigrateConfig config = new MigrateConfig(TrustedKeys.of(key.publicKey()), 4, 2, 60_000,
          PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), 0);
      List<Catalog> catalogs = new ArrayList<>();
      List<MigrationSummary> summaries = new ArrayList<>();
      try (ExecutorService workers = Executors.newFixedThreadPool(3)) {
        List<Future<MigrationSummary>> runs = new ArrayList<>();
        for (int w = 0; w < 3; w++) {
          Catalog own = Catalog.open(cluster.catalogUrl);
          catalogs.add(own);
          runs.add(workers.submit(() -> cluster.migrate(config, own)));
        }
        for (Future<MigrationSummary> r : runs) {
          summaries.add(r.get());
        }
      } finally {
        catalogs.forEach(Catalog::close);
      }
      int archivedByAll = summaries.stream().mapToInt(MigrationSummary::narsArchived).sum();
      int leftToOthers = summaries.stream().mapToInt(MigrationSummary::busy).sum();
      assertTrue(summaries.stream().filter(s -> s.narsArchived() > 0).count() >= 2,
          "the work was shared: " + summaries);
      // A later run picks up what the racing workers left to each other (aliases included).
      MigrationSummary after = cluster.migrate(config);
      for (var p : paths) {
        assertTrue(cluster.catalog.isArchived(p.storePath().hashPart()), p.storePath() + " archived");
      }
      for (String twin : twins) {
        assertTrue(cluster.catalog.isArchived(twin), "twin " + twin + " archived");
      }
      // Every object is stored in exactly one pack.
      Map<String, Integer> packsPerObject = cluster.packsPerObject();
      assertEquals(36, packsPerObject.size());
      assertEquals(Set.of(1), Set.copyOf(packsPerObject.values()), "an object archived twice: " + packsPerObject);
      assertEquals(36, archivedByAll + after.narsArchived(), summaries + " then " + after);
      System.out.println("workers: " + summaries.stream().map(MigrationSummary::narsArchived).toList()
          + " archived, " + leftToOthers + " left to each other, then " + after.narsArchived() + " more");
    }
  }
}
