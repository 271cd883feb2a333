package dev.narvault.cli.e2e;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.StorePath;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrationSummary;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walking skeleton end to end: the real Nix builds and signs a binary cache, it goes into S3
 * (S3Proxy), {@code migrate} archives it on 14 holders with RS(10,4), holders are stopped or lie,
 * and the real Nix substitutes the paths back through the gateway.
 */
class EndToEndTest {
  @TempDir
  Path dir;

  @BeforeEach
  void needsNix() {
    assumeTrue(RealNix.available(), "nix-store is not installed (.ci/run installs nix-bin)");
  }

  /** A cluster with a Nix-made cache (xz and zstd paths) migrated onto 14 holders. */
  private record Setup(Cluster cluster, NixCache nix, List<StorePath> paths) {}

  private Setup setUp() throws Exception {
    Cluster cluster = new Cluster(dir.resolve("cluster"), 14);
    NixCache nix = NixCache.create(dir.resolve("nix"));
    nix.addPaths(dir.resolve("nix"), "xz");
    nix.addPaths(dir.resolve("nix"), "zstd");
    cluster.upload(nix.cacheDir(dir.resolve("nix")));
    MigrationSummary summary = cluster.migrate(nix.publicKey, 10, 4);
    assertEquals(6, summary.narsArchived(), summary.toString());
    assertEquals(0, summary.rejected(), summary.toString());
    return new Setup(cluster, nix, List.copyOf(nix.paths));
  }

  private RealNix.Result substitute(Setup s, URI gateway) throws Exception {
    return RealNix.realise(gateway.toString(), s.nix().publicKey, s.paths());
  }

  /** Every path that exists locally has exactly the NarHash its signed narinfo says. */
  private void assertIntact(Setup s) throws Exception {
    Path cacheDir = s.nix().cacheDir(dir.resolve("nix"));
    for (StorePath p : s.paths()) {
      if (Files.exists(Path.of(p.toString()))) {
        assertEquals(NixCache.narInfo(cacheDir, p).narHash(), NixCache.localNarHash(p), p.toString());
      }
    }
  }

  /** Deletes the NAR objects from S3 (keeping narinfos), so only the archive can serve them. */
  private void removeNarObjects(Setup s) throws Exception {
    for (StorePath p : s.paths()) {
      NarInfo info = NixCache.narInfo(s.nix().cacheDir(dir.resolve("nix")), p);
      s.cluster().objects.delete(info.url());
    }
  }

  @Test
  void nixSubstitutesFromTheArchive_withFourHoldersDown() throws Exception {
    Setup s = setUp();
    try (Cluster cluster = s.cluster()) {
      // Data fragments 0..3 of the (single) pack go down with their holders.
      PackId packId = cluster.catalog.narByStoreHash(s.paths().getFirst().hashPart()).orElseThrow().packId();
      for (int i = 0; i < 4; i++) {
        cluster.stopHolder(cluster.holderOf(packId, i));
      }
      // No S3 to fall back on: every byte must come from the holders left.
      removeNarObjects(s);
      URI gateway = cluster.startGateway();
      s.nix().deleteLocal();
      RealNix.Result result = substitute(s, gateway);
      assertEquals(0, result.exitCode(), result.output());
      for (StorePath p : s.paths()) {
        assertTrue(Files.exists(Path.of(p.toString())), p + " was not substituted");
      }
      assertIntact(s);
    } finally {
      s.nix().deleteLocal();
    }
  }

  @Test
  void fiveHoldersDown_fallsBackToS3_andWithoutS3FailsCleanly() throws Exception {
    Setup s = setUp();
    try (Cluster cluster = s.cluster()) {
      PackId packId = cluster.catalog.narByStoreHash(s.paths().getFirst().hashPart()).orElseThrow().packId();
      for (int i = 0; i < 5; i++) {
        cluster.stopHolder(cluster.holderOf(packId, i));
      }
      URI gateway = cluster.startGateway();
      s.nix().deleteLocal();
      RealNix.Result fallback = substitute(s, gateway);
      assertEquals(0, fallback.exitCode(), fallback.output());
      assertIntact(s);

      s.nix().deleteLocal();
      removeNarObjects(s);
      RealNix.Result gone = substitute(s, gateway);
      assertNotEquals(0, gone.exitCode(), gone.output());
      // The NAR at the start of the pack lies in data fragment 0, whose holder is down.
      StorePath first = s.paths().getFirst();
      assertTrue(Files.notExists(Path.of(first.toString())), first + " must not appear from nowhere");
      assertIntact(s);
    } finally {
      s.nix().deleteLocal();
    }
  }

  @Test
  void lyingHolder_isDetectedAndReadAround() throws Exception {
    Setup s = setUp();
    try (Cluster cluster = s.cluster()) {
      // Corrupt fragment 0 on its holder's disk: it will serve wrong bytes for the first NARs.
      ArchivedNar firstNar = cluster.catalog.narByStoreHash(s.paths().getFirst().hashPart()).orElseThrow();
      FragmentPlacement f0 = cluster.catalog.placements(firstNar.packId()).getFirst();
      assertEquals(0, f0.fragmentIndex());
      Path file = cluster.fragmentFile(cluster.holderOf(firstNar.packId(), 0), f0.fragmentId());
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        ByteBuffer b = ByteBuffer.allocate(1);
        ch.read(b, 50);
        b.put(0, (byte) (b.get(0) ^ 0x40));
        ch.write(b.flip(), 50);
      }
      URI gateway = cluster.startGateway();
      // Straight HTTP: the NAR object served is the one S3 has, byte for byte.
      byte[] expected;
      try (InputStream in = cluster.objects.open(firstNar.fileKey())) {
        expected = in.readAllBytes();
      }
      removeNarObjects(s);
      HttpResponse<byte[]> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(gateway + "/" + firstNar.fileKey())).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, r.statusCode());
      assertArrayEquals(expected, r.body());
      // And the real Nix accepts what it gets.
      s.nix().deleteLocal();
      RealNix.Result result = substitute(s, gateway);
      assertEquals(0, result.exitCode(), result.output());
      assertIntact(s);
    } finally {
      s.nix().deleteLocal();
    }
  }

  @Test
  void drainedColdPaths_substituteThroughTheGateway_hotPathsStillComeFromS3() throws Exception {
    Cluster cluster = new Cluster(dir.resolve("cluster"), 14);
    NixCache nix = NixCache.create(dir.resolve("nix"));
    try (cluster) {
      nix.addPaths(dir.resolve("nix"), "xz");
      nix.addPaths(dir.resolve("nix"), "zstd");
      Path cacheDir = nix.cacheDir(dir.resolve("nix"));
      cluster.upload(cacheDir);
      List<StorePath> cold = new ArrayList<>();
      List<StorePath> hot = new ArrayList<>();
      for (int i = 0; i < nix.paths.size(); i++) {
        StorePath p = nix.paths.get(i);
        if (i % 2 == 0) {
          DrainTest.age(cluster, NixCache.narInfo(cacheDir, p).url(), Duration.ofDays(200));
          cold.add(p);
        } else {
          hot.add(p);
        }
      }
      MigrationSummary summary = cluster.migrate(nix.publicKey, 10, 4,
          new ColdSelection(Optional.of(Duration.ofDays(90)), Optional.empty(), Optional.empty()),
          DrainConfig.delete(cluster.trustedArchiveKeys()));
      assertEquals(0, summary.rejected(), summary.toString());
      for (StorePath p : cold) {
        assertTrue(!DrainTest.exists(cluster, NixCache.narInfo(cacheDir, p).url()), p + " drained from S3");
      }
      for (StorePath p : hot) {
        assertTrue(DrainTest.exists(cluster, NixCache.narInfo(cacheDir, p).url()), p + " still in S3");
        assertTrue(cluster.catalog.narByStoreHash(p.hashPart()).isEmpty(), p + " is hot: not archived");
      }
      URI gateway = cluster.startGateway();
      nix.deleteLocal();
      RealNix.Result result = RealNix.realise(gateway.toString(), nix.publicKey, nix.paths);
      assertEquals(0, result.exitCode(), result.output());
      for (StorePath p : nix.paths) {
        assertTrue(Files.exists(Path.of(p.toString())), p + " was not substituted");
        assertEquals(NixCache.narInfo(cacheDir, p).narHash(), NixCache.localNarHash(p), p.toString());
      }
    } finally {
      nix.deleteLocal();
    }
  }

  @Test
  void migrateTwice_archivesNothingTwice() throws Exception {
    Setup s = setUp();
    try (Cluster cluster = s.cluster()) {
      long[] before = cluster.catalog.totals();
      MigrationSummary again = cluster.migrate(s.nix().publicKey, 10, 4);
      assertEquals(0, again.narsArchived());
      assertEquals(6, again.alreadyArchived());
      assertArrayEquals(before, cluster.catalog.totals());
    } finally {
      s.nix().deleteLocal();
    }
  }
}
