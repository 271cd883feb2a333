package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.Narvault;
import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.StorePath;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The catalog is lost; every manifest and alias is also on holders; {@code narvault
 * catalog-rebuild} restores it, and the archive serves every path again (through the real Nix
 * when it is installed) with the NAR objects gone from S3.
 */
class CatalogRebuildTest {
  @TempDir
  Path dir;

  @Test
  void lostCatalog_rebuiltFromTheHolders_servesEveryPathAndAlias() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
          .generate(List.of(30_000, 60_000, 90_000, 120_000), 61, 2);
      assertEquals(4, cluster.migrate(key.publicKey(), 4, 2, 0, 1).packs(), "one pack per NAR");
      // A later store path naming an object of an older pack: an alias document of its own.
      String text = new String(DrainTest.read(cluster, paths.get(1).storePath().hashPart() + ".narinfo"),
          StandardCharsets.UTF_8);
      StorePath twin = StorePath.makeSourcePath("twin", NarInfo.parse(text).narHash(), List.of());
      cluster.objects.put(twin.hashPart() + ".narinfo", key.sign(NarInfo.parse(text.replaceAll("Sig: .*\n", "")
          .replace(paths.get(1).storePath().toString(), twin.toString()))).toBytes(), "text/plain");
      assertEquals(5, cluster.migrate(key.publicKey(), 4, 2).alreadyArchived(), "4 archived before, 1 alias");
      assertTrue(cluster.catalog.isArchived(twin.hashPart()));
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      List<String> hashes = new ArrayList<>(paths.stream().map(p -> p.storePath().hashPart()).toList());
      hashes.add(twin.hashPart());
      List<String> narInfos = new ArrayList<>();
      for (String h : hashes) {
        narInfos.add(cluster.catalog.narByStoreHash(h).orElseThrow().narInfo());
      }

      cluster.loseCatalog();
      assertEquals(0, cluster.catalog.custody().packCount(), "the new catalog is empty");
      cluster.awaitRegistered();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8)).execute(
          "catalog-rebuild", "--coordinator", cluster.coordinator.endpoint().toString(), "--archive-public-key",
          cluster.archiveKey.publicKey().toString(), "--catalog", cluster.catalogUrl);
      String printed = out.toString(StandardCharsets.UTF_8);
      assertEquals(0, exit, printed);
      assertTrue(printed.contains("4 packs, 4 NARs, 1 aliases"), printed);
      for (int i = 0; i < hashes.size(); i++) {
        ArchivedNar nar = cluster.catalog.narByStoreHash(hashes.get(i)).orElseThrow();
        assertEquals(narInfos.get(i), nar.narInfo(), "narinfo restored byte for byte");
      }
      // Only the archive can serve now.
      for (var p : paths) {
        cluster.objects.delete(p.narKey());
      }
      RepairTest.assertReadsBack(cluster, original);
      URI gateway = cluster.startGateway();
      HttpResponse<String> twinInfo = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(gateway + "/" + twin.hashPart() + ".narinfo")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, twinInfo.statusCode());
      if (RealNix.available()) {
        List<StorePath> all = new ArrayList<>(paths.stream().map(CacheGenerator.GeneratedPath::storePath).toList());
        all.add(twin);
        RealNix.delete(all);
        try {
          RealNix.Result r = RealNix.realise(gateway.toString(), key.publicKey(), all);
          assertEquals(0, r.exitCode(), r.output());
        } finally {
          RealNix.delete(all);
        }
      }
      HttpResponse<byte[]> nar = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(gateway + "/" + paths.get(2).narKey())).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertArrayEquals(original.get(paths.get(2).narKey()), nar.body());
    }
  }
}
