package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.cli.quickstart.CacheGenerator;
import dev.narvault.cli.quickstart.EmbeddedS3;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.backstop.BackstopObject;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.PackRewrite;
import dev.narvault.encoder.Takedown;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code forget}'s rewrite pass on a whole narvault over loopback, the NARs drained from S3 (the
 * holders hold the only copy): a mostly forgotten pack is written again without its forgotten
 * NARs, its live paths (an alias document's among them) served from the new pack byte for byte,
 * the old pack retired and its copies collected after the grace; a lost catalog rebuilt from the
 * holders keeps the old pack retired. And what can go wrong: the pack claimed by repair, an alias
 * added while the pack is rewritten, the coordinator gone between placing and committing: each
 * leaves the old pack whole and serving, and the next run finishes the rewrite.
 */
class PackRewriteTest {
  @TempDir
  Path dir;

  @BeforeAll
  static void credentials() {
    // The command reads the bucket with the AWS SDK's default chain, as in production.
    System.setProperty("aws.accessKeyId", EmbeddedS3.ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", EmbeddedS3.SECRET_KEY);
  }

  private static ForgetTest.Run narvault(List<String> args) {
    return ForgetTest.narvault(args.toArray(String[]::new));
  }

  private List<String> forgetArgs(Cluster cluster, String... more) throws IOException {
    return ForgetTest.forgetArgs(dir, cluster, more);
  }

  private static HttpResponse<byte[]> get(URI gateway, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(gateway + "/" + path)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static GatewayServer gateway(Cluster cluster) throws IOException {
    return GatewayServer.start(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50),
        new Archive(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
            Optional.of(TrustedKeys.of(cluster.archiveKey.publicKey()))), cluster.objects);
  }

  /** Four NARs in one RS(4,2) pack, a fifth store path naming the fourth's object (an alias document), all drained. */
  private record Archived(List<CacheGenerator.GeneratedPath> paths, StorePath twin, Map<String, byte[]> nars,
      PackId pack, NixSecretKey cacheKey) {
    String hash(int i) {
      return paths.get(i).storePath().hashPart();
    }
  }

  private static Archived archive(Cluster cluster, long seed) throws Exception {
    NixSecretKey key = NixSecretKey.generate("gen-cache-1", new SecureRandom());
    List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(key, cluster.objects)
        .generate(List.of(30_000, 40_000, 50_000, 60_000), seed, 2);
    Map<String, byte[]> nars = new HashMap<>();
    for (CacheGenerator.GeneratedPath p : paths) {
      nars.put(p.narKey(), DrainTest.read(cluster, p.narKey()));
    }
    cluster.migrate(key.publicKey(), 4, 2);
    String text = new String(DrainTest.read(cluster, paths.get(3).storePath().hashPart() + ".narinfo"),
        StandardCharsets.UTF_8);
    StorePath twin = StorePath.makeSourcePath("twin", NarInfo.parse(text).narHash(), List.of());
    cluster.objects.put(twin.hashPart() + ".narinfo", key.sign(NarInfo.parse(text.replaceAll("Sig: .*\n", "")
        .replace(paths.get(3).storePath().toString(), twin.toString()))).toBytes(), "text/plain");
    cluster.migrate(key.publicKey(), 4, 2, ColdSelection.ALL, DrainConfig.delete(cluster.trustedArchiveKeys()));
    PackId pack = cluster.catalog.narByStoreHash(paths.getFirst().storePath().hashPart()).orElseThrow().packId();
    for (CacheGenerator.GeneratedPath p : paths) {
      assertEquals(pack, cluster.catalog.narByStoreHash(p.storePath().hashPart()).orElseThrow().packId(), "one pack");
      assertFalse(DrainTest.exists(cluster, p.narKey()), "drained: the holders hold the only copy");
    }
    assertEquals(pack, cluster.catalog.narByStoreHash(twin.hashPart()).orElseThrow().packId());
    return new Archived(paths, twin, nars, pack, key);
  }

  /** How many copies of these fragment ids the holders' disks hold. */
  private static int copiesOnDisk(Cluster cluster, Collection<String> ids) {
    int n = 0;
    for (int h = 0; h < cluster.holders.size(); h++) {
      for (String id : ids) {
        n += Files.exists(cluster.fragmentFile(h, id)) ? 1 : 0;
      }
    }
    return n;
  }

  private static Set<String> fragmentIds(Manifest m) {
    return m.fragments().stream().map(f -> f.id().hex()).collect(Collectors.toSet());
  }

  private static Manifest manifest(Cluster cluster, PackId pack) throws Exception {
    return ManifestCodec.verify(cluster.catalog.packs().signedManifest(pack).orElseThrow()
        .getBytes(StandardCharsets.UTF_8), cluster.trustedArchiveKeys());
  }

  /** Every live path served by the gateway, byte for byte; the forgotten ones 404. */
  private static void assertServed(URI gw, Archived a, Set<Integer> forgotten) throws Exception {
    for (int i = 0; i < 4; i++) {
      CacheGenerator.GeneratedPath p = a.paths().get(i);
      if (forgotten.contains(i)) {
        assertEquals(404, get(gw, p.storePath().hashPart() + ".narinfo").statusCode(), "forgotten " + i);
        assertEquals(404, get(gw, p.narKey()).statusCode(), "forgotten " + i);
      } else {
        assertEquals(200, get(gw, p.storePath().hashPart() + ".narinfo").statusCode(), "NAR " + i);
        HttpResponse<byte[]> nar = get(gw, p.narKey());
        assertEquals(200, nar.statusCode(), "NAR " + i);
        assertArrayEquals(a.nars().get(p.narKey()), nar.body(), "NAR " + i + " byte for byte");
      }
    }
    assertEquals(200, get(gw, a.twin().hashPart() + ".narinfo").statusCode(), "the alias");
  }

  @Test
  void forget_rewritesTheMostlyDeadPack_servesTheRestFromTheNewOne_collectsTheOld_andARebuildKeepsItRetired()
      throws Exception {
    // Holders count as live for 5 hours unheard: the coordinator's clock moves on an hour below.
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofHours(5))) {
      Archived a = archive(cluster, 81);
      Manifest old = manifest(cluster, a.pack());
      Set<String> oldIds = fragmentIds(old);
      assertEquals(6, copiesOnDisk(cluster, oldIds));

      // Under the share: recorded and deleted, nothing rewritten.
      ForgetTest.Run under = narvault(forgetArgs(cluster, a.paths().get(0).storePath().toString(), "--reason", "leak",
          "--rewrite-dead-share", "0.5"));
      assertEquals(0, under.exit(), under.printed());
      assertTrue(under.printed().contains("not rewritten"), under.printed());
      assertTrue(cluster.catalog.packs().retired(a.pack()).isEmpty());

      ForgetTest.Run run = narvault(forgetArgs(cluster, a.paths().get(1).storePath().toString(), "--reason", "leak",
          "--rewrite-dead-share", "0.3"));
      assertEquals(0, run.exit(), run.printed());
      assertTrue(run.printed().contains("rewrote 1 packs without their forgotten NARs"), run.printed());
      PackId rewritten = cluster.catalog.packs().retired(a.pack()).orElseThrow().by().orElseThrow();
      Manifest now = manifest(cluster, rewritten);
      assertEquals(Optional.of(a.pack()), now.replacedPack(), "the new manifest signs the pack it replaces");
      assertEquals(Set.of(a.hash(2), a.hash(3), a.twin().hashPart()), now.nars().stream()
          .map(n -> n.parsedNarInfo().storePath().hashPart()).collect(Collectors.toSet()),
          "the live paths, the alias document's among them; not the forgotten ones");
      assertEquals(old.dataFragmentCount(), now.dataFragmentCount());
      assertEquals(old.parityFragmentCount(), now.parityFragmentCount());
      for (String h : List.of(a.hash(2), a.hash(3), a.twin().hashPart())) {
        assertEquals(rewritten, cluster.catalog.narByStoreHash(h).orElseThrow().packId());
      }
      assertTrue(cluster.catalog.placements(a.pack()).stream().allMatch(p -> p.state() == FragmentState.SUPERSEDED));
      assertEquals(6, cluster.catalog.healthyPlacements(rewritten).size());
      try (GatewayServer server = gateway(cluster)) {
        assertServed(server.endpoint(), a, Set.of(0, 1));
      }

      // Within the grace a read that looked the old pack up may still stream from it.
      cluster.coordinator.collector().collectOnce();
      assertEquals(6, copiesOnDisk(cluster, oldIds), "kept for an hour");

      // The catalog is lost: rebuilt from the holders, the old pack is retired again, not served.
      cluster.loseCatalog();
      cluster.awaitRegistered();
      ForgetTest.Run rebuilt = narvault(List.of("catalog-rebuild", "--coordinator", cluster.coordinator.endpoint().toString(),
          "--archive-public-key", cluster.archiveKey.publicKey().toString(), "--catalog", cluster.catalogUrl));
      assertEquals(0, rebuilt.exit(), rebuilt.printed());
      assertTrue(rebuilt.printed().contains("of the 2 packs rewrites touched that were found, 1 were left without a "
          + "live path and are retired"), rebuilt.printed());
      assertEquals(Optional.of(rewritten), cluster.catalog.packs().retired(a.pack()).orElseThrow().by());
      for (String h : List.of(a.hash(2), a.hash(3), a.twin().hashPart())) {
        assertEquals(rewritten, cluster.catalog.narByStoreHash(h).orElseThrow().packId(), "rebuilt on the new pack");
      }
      assertTrue(cluster.catalog.forgotten().isForgotten(a.hash(0)));
      assertTrue(cluster.catalog.forgotten().isForgotten(a.hash(1)));
      try (GatewayServer server = gateway(cluster)) {
        assertServed(server.endpoint(), a, Set.of(0, 1));
      }
      assertTrue(cluster.catalog.custody().shape(a.pack()).isEmpty(), "repair leaves the retired pack alone");

      // An hour later: the old pack's copies go, the new pack's stay.
      cluster.coordinatorAheadMillis.set(Duration.ofMinutes(61).toMillis());
      cluster.coordinator.collector().collectOnce();
      assertEquals(0, copiesOnDisk(cluster, oldIds), "the forgotten bytes left the holders");
      assertEquals(6, copiesOnDisk(cluster, fragmentIds(now)));
      try (GatewayServer server = gateway(cluster)) {
        assertServed(server.endpoint(), a, Set.of(0, 1));
      }
    }
  }

  /** The coordinator as the rewrite sees it, with something done before its {@code n}-th placement. */
  private static final class Interfering implements PlacementAuthority {
    interface Action {
      void run() throws IOException;
    }

    private final PlacementAuthority real;
    private final int at;
    private final Action action;
    final AtomicInteger calls = new AtomicInteger();
    /** The fragment ids asked for, in order. */
    final List<String> asked = java.util.Collections.synchronizedList(new ArrayList<>());

    Interfering(PlacementAuthority real, int at, Action action) {
      this.real = real;
      this.at = at;
      this.action = action;
    }

    @Override
    public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
        List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
        throws IOException {
      if (calls.incrementAndGet() == at) {
        action.run();
      }
      wanted.forEach(w -> asked.add(w.fragmentId()));
      return real.place(packId, parityFragmentCount, blockSize, wanted, placedOn, failedOn);
    }
  }

  private PackRewrite rewrite(Cluster cluster, PlacementAuthority coordinator, ByteArrayOutputStream out) {
    return new PackRewrite(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), coordinator, cluster.archiveKey,
        cluster.trustedArchiveKeys(), Optional.of(cluster.objects), dir.resolve("rewrite-work"),
        new PrintStream(out, true, StandardCharsets.UTF_8), InstantSource.system());
  }

  private PlacementClient coordinator(Cluster cluster) {
    return new PlacementClient(cluster.coordinator.endpoint(), cluster.workerKey, InstantSource.system());
  }

  private void forget(Cluster cluster, List<String> hashes) throws IOException {
    new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), coordinator(cluster), cluster.archiveKey,
        cluster.objects, dir.resolve("w"), new PrintStream(OutputStream.nullOutputStream()), InstantSource.system())
        .run(hashes, "court order");
  }

  /** The old pack whole and serving: every live path on it, its copies stored, not retired. */
  private static void assertUntouched(Cluster cluster, Archived a, Set<String> live) throws Exception {
    assertTrue(cluster.catalog.packs().retired(a.pack()).isEmpty());
    for (String h : live) {
      assertEquals(a.pack(), cluster.catalog.narByStoreHash(h).orElseThrow().packId(), h);
    }
    assertEquals(6, cluster.catalog.healthyPlacements(a.pack()).size());
  }

  @Test
  void rewrite_claimedByRepair_orAnAliasAddedMeanwhile_orTheCoordinatorGoneBeforeTheCommit_leavesTheOldPackServing()
      throws Exception {
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofHours(5))) {
      Archived a = archive(cluster, 82);
      forget(cluster, List.of(a.hash(0), a.hash(1), a.hash(2)));
      Set<String> live = Set.of(a.hash(3), a.twin().hashPart());
      ByteArrayOutputStream out = new ByteArrayOutputStream();

      // Repair holds the pack: left, nothing placed.
      assertTrue(cluster.catalog.repairClaims().claim(a.pack(), "repair-coordinator", System.currentTimeMillis(),
          System.currentTimeMillis() + 60_000));
      Interfering counting = new Interfering(coordinator(cluster), 0, () -> {});
      assertEquals(new PackRewrite.Result(0, 0, 1, 0), rewrite(cluster, counting, out).rewriteDead(0.5));
      assertEquals(0, counting.calls.get(), "nothing was placed");
      assertTrue(out.toString(StandardCharsets.UTF_8).contains("repair (or another rewrite) holds it"));
      assertUntouched(cluster, a, live);
      cluster.catalog.repairClaims().release(a.pack(), "repair-coordinator");

      // The coordinator goes away between placing the fragments and placing the manifest.
      Interfering gone = new Interfering(coordinator(cluster), 2, () -> {
        throw new IOException("coordinator gone");
      });
      assertEquals(new PackRewrite.Result(0, 0, 1, 0), rewrite(cluster, gone, out).rewriteDead(0.5));
      assertUntouched(cluster, a, live);
      List<PackId> packs = List.of(a.pack());
      assertEquals(packs, cluster.catalog.forgotten().packsWithForgotten().keySet().stream().toList());
      // What it placed belongs to no pack: collected once its placement orders are long expired.
      assertEquals(0, cluster.coordinator.collector().collectOnce(), "not while a worker may still commit it");
      cluster.coordinatorAheadMillis.set(Duration.ofHours(2).plusMinutes(1).toMillis());
      int collected = cluster.coordinator.collector().collectOnce();
      cluster.coordinatorAheadMillis.set(0);
      assertEquals(6, collected, "the new pack's six fragments, no row names them");
      assertUntouched(cluster, a, live);

      // Another store path is archived as an alias of a live object while the pack is rewritten:
      // the commit is refused, nothing changes, and the alias is served from the old pack.
      CacheGenerator.GeneratedPath kept = a.paths().get(3);
      ArchivedNar existing = cluster.catalog.narByStoreHash(kept.storePath().hashPart()).orElseThrow();
      StorePath third = StorePath.makeSourcePath("third", NarInfo.parse(existing.narInfo()).narHash(), List.of());
      String thirdInfo = existing.narInfo().replace(kept.storePath().toString(), third.toString());
      Interfering aliasing = new Interfering(coordinator(cluster), 1, () -> {
        assertTrue(cluster.catalog.addAlias(third.hashPart(), existing, thirdInfo, System.currentTimeMillis()));
      });
      assertEquals(new PackRewrite.Result(0, 0, 1, 0), rewrite(cluster, aliasing, out).rewriteDead(0.5));
      assertTrue(out.toString(StandardCharsets.UTF_8).contains(third.hashPart()), "the refusal names it");
      assertUntouched(cluster, a, Set.of(a.hash(3), a.twin().hashPart(), third.hashPart()));

      // The next run rewrites it, the alias with it.
      PackRewrite.Result done = rewrite(cluster, coordinator(cluster), out).rewriteDead(0.5);
      assertEquals(1, done.rewritten(), out.toString(StandardCharsets.UTF_8));
      PackId rewritten = cluster.catalog.packs().retired(a.pack()).orElseThrow().by().orElseThrow();
      for (String h : List.of(a.hash(3), a.twin().hashPart(), third.hashPart())) {
        assertEquals(rewritten, cluster.catalog.narByStoreHash(h).orElseThrow().packId(), h);
      }
      assertEquals(Map.of(), cluster.catalog.forgotten().packsWithForgotten(), "nothing left to rewrite");
      assertEquals(new PackRewrite.Result(0, 0, 0, 0), rewrite(cluster, coordinator(cluster), out).rewriteDead(0.5));
      try (GatewayServer server = gateway(cluster)) {
        assertServed(server.endpoint(), a, Set.of(0, 1, 2));
        assertEquals(200, get(server.endpoint(), third.hashPart() + ".narinfo").statusCode());
      }

      // Everything on the new pack forgotten: retired whole, nothing written.
      forget(cluster, List.of(a.hash(3)));
      PackRewrite.Result retired = rewrite(cluster, coordinator(cluster), out).rewriteDead(0.5);
      assertEquals(new PackRewrite.Result(0, 1, 0, now(cluster, rewritten)), retired);
      assertEquals(Optional.empty(), cluster.catalog.packs().retired(rewritten).orElseThrow().by());
      assertTrue(cluster.catalog.narByStoreHash(third.hashPart()).isEmpty(), "its aliases went with the object");
    }
  }

  private static long now(Cluster cluster, PackId pack) throws Exception {
    return manifest(cluster, pack).packLength();
  }

  @Test
  void rewrite_refusesAReadBackThatDoesNotVerify_andTheOldPackStays() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8)) {
      Archived a = archive(cluster, 83);
      forget(cluster, List.of(a.hash(0), a.hash(1), a.hash(2)));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      // Every holder lies about what it stores from the moment the manifest is placed (after the
      // new fragments were accepted): the read-back cannot verify.
      Interfering lying = new Interfering(coordinator(cluster), 2, () -> {
        for (FaultyStore store : cluster.stores) {
          store.mode = FaultyStore.Mode.LYING;
        }
      });
      PackRewrite.Result result = rewrite(cluster, lying, out).rewriteDead(0.5);
      for (FaultyStore store : cluster.stores) {
        store.mode = FaultyStore.Mode.HONEST;
      }
      assertEquals(new PackRewrite.Result(0, 0, 1, 0), result, out.toString(StandardCharsets.UTF_8));
      assertTrue(out.toString(StandardCharsets.UTF_8).contains("did not verify"), out.toString(StandardCharsets.UTF_8));
      assertUntouched(cluster, a, Set.of(a.hash(3), a.twin().hashPart()));
      try (GatewayServer server = gateway(cluster)) {
        assertServed(server.endpoint(), a, Set.of(0, 1, 2));
      }
    }
  }

  @Test
  void rewrite_ofAPackWithABackstop_placesTheNewPacksBackstop_thenDeletesTheOld_evenAfterAFailure_andItServes()
      throws Exception {
    try (Cluster cluster = new Cluster(dir, 6);
        S3ObjectSource backstops = BackstopTest.backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, cluster.objects)
          .generate(List.of(20_000, 45_000, 70_000), 84, 2);
      Map<String, byte[]> original = DrainTest.objects(cluster, paths);
      // One pack of all three, drained once its backstop is placed.
      cluster.migrate(new MigrateConfig(TrustedKeys.of(cacheKey.publicKey()), 4, 2, 1 << 20, 4096,
          Codecs.defaultKind(), cluster.dir.resolve("work"), 0)
          .with(ColdSelection.ALL, DrainConfig.delete(cluster.trustedArchiveKeys()))
          .withBackstop(new MigrateConfig.Backstop("backstop", Optional.empty())));
      Set<PackId> packs = BackstopTest.packsOf(cluster, paths);
      assertEquals(1, packs.size());
      PackId old = packs.iterator().next();
      assertTrue(cluster.catalog.backstops().of(old).isPresent());

      forget(cluster, List.of(paths.get(2).storePath().hashPart()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      // The backstop bucket cannot be reached when the rewrite commits: the pack is rewritten, the
      // backstops are left (the old one, with the forgotten bytes, too) and the run says so.
      RecordingObjects unreachable = new RecordingObjects(cluster.objects);
      unreachable.failOtherBuckets = true;
      PackRewrite.Result first = new PackRewrite(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          coordinator(cluster), cluster.archiveKey, cluster.trustedArchiveKeys(), Optional.of(unreachable),
          dir.resolve("rewrite-work"), new PrintStream(out, true, StandardCharsets.UTF_8), InstantSource.system())
          .rewriteDead(0);
      assertEquals(1, first.rewritten(), out.toString(StandardCharsets.UTF_8));
      assertEquals(1, first.left(), "the backstop is left for the next run: " + out.toString(StandardCharsets.UTF_8));
      PackId placedFirst = cluster.catalog.packs().retired(old).orElseThrow().by().orElseThrow();
      assertTrue(cluster.catalog.backstops().of(placedFirst).isEmpty());
      assertTrue(cluster.catalog.backstops().of(old).isPresent());
      // The next run places the new pack's backstop from its holders and deletes the old.
      PackRewrite.Result again = rewrite(cluster, coordinator(cluster), out).rewriteDead(0);
      assertEquals(new PackRewrite.Result(0, 0, 0, 0), again, out.toString(StandardCharsets.UTF_8));
      assertTrue(cluster.catalog.backstops().of(old).isEmpty(), "the old backstop's record goes with its object");
      PackId rewritten = cluster.catalog.packs().retired(old).orElseThrow().by().orElseThrow();
      List<String> keys = new ArrayList<>();
      backstops.list("", o -> {
        if (!o.key().endsWith("/")) {
          keys.add(o.key());
        }
      });
      assertEquals(List.of(BackstopObject.key(rewritten)), keys,
          "the new pack's backstop, and the old one (with the forgotten bytes) deleted");
      BackstopTest.assertObjectIsThePack(cluster, backstops, rewritten);

      // Four of six holders down (k = 4): the live NARs come from the new backstop.
      URI gateway = cluster.startGateway();
      for (int i = 0; i < 4; i++) {
        cluster.stopHolder(i);
      }
      for (CacheGenerator.GeneratedPath p : paths.subList(0, 2)) {
        HttpResponse<byte[]> r = get(gateway, p.narKey());
        assertEquals(200, r.statusCode(), p.narKey());
        assertArrayEquals(original.get(p.narKey()), r.body(), p.narKey() + " from the new backstop byte for byte");
      }
      assertEquals(404, get(gateway, paths.get(2).narKey()).statusCode());
    }
  }

  @Test
  void aForgottenNarWhoseDeletionIsPending_leftOnTheRetiredPack_isNoDrainFailure_andGoesOnceDeleted()
      throws Exception {
    try (Cluster cluster = new Cluster(dir, 6);
        S3ObjectSource backstops = BackstopTest.backstopBucket(cluster, true)) {
      NixSecretKey cacheKey = NixSecretKey.generate("gen-cache-1", new SecureRandom());
      List<CacheGenerator.GeneratedPath> paths = new CacheGenerator(cacheKey, cluster.objects)
          .generate(List.of(20_000, 45_000, 70_000), 85, 2);
      cluster.migrate(cacheKey.publicKey(), 4, 2);
      CacheGenerator.GeneratedPath gone = paths.get(2);
      // S3 refuses to delete its narinfo (the first of its objects deleted): both stay in the bucket.
      RecordingObjects failing = new RecordingObjects(cluster.objects)
          .failDeleting(Optional.of(gone.storePath().hashPart() + ".narinfo"));
      PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
      assertEquals(new Takedown.Result(1, 0, 0, 1), new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)),
          coordinator(cluster), cluster.archiveKey, failing, dir.resolve("w"), quiet, InstantSource.system())
          .run(List.of(gone.storePath().hashPart()), "court order"), "its deletion fails and stays pending");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertEquals(1, rewrite(cluster, coordinator(cluster), out).rewriteDead(0).rewritten());
      assertEquals(3, cluster.catalog.journal().totals(Journal.State.COMMITTED).objects());

      // The drain, with backstops: the live NARs from the new pack; the forgotten one's entry,
      // left with the retired pack, is not the drain's (no backstop is asked of a retired pack).
      // Its narinfo is still listed, and its path no longer archived (its pack was rewritten
      // without it): migrate must not archive it again.
      MigrationSummary drained = cluster.migrate(BackstopTest.config(cluster, cacheKey));
      assertEquals(1, drained.rejected(), drained.toString());
      assertFalse(cluster.catalog.isArchived(gone.storePath().hashPart()), "not archived again");
      assertEquals(2, drained.drain().objects(), drained.toString());
      assertEquals(0, drained.drain().failed(), drained.toString());
      assertEquals(1, drained.drain().pendingObjects(), "the forgotten one waits for its deletion");
      assertTrue(DrainTest.exists(cluster, gone.narKey()), "still pending in the bucket");

      // The next forget run deletes it, and nothing waits any more.
      new Takedown(cluster.catalog, new HolderClient(Duration.ofSeconds(5)), coordinator(cluster), cluster.archiveKey,
          cluster.objects, dir.resolve("w"), quiet, InstantSource.system()).run(List.of(), null);
      assertFalse(DrainTest.exists(cluster, gone.narKey()));
      assertFalse(DrainTest.exists(cluster, gone.storePath().hashPart() + ".narinfo"));
      assertEquals(0, cluster.catalog.journal().totals(Journal.State.COMMITTED).objects());
      assertEquals(0, cluster.catalog.journal().totals(Journal.State.VERIFIED).objects());
    }
  }

  @Test
  void migrate_aliasingAnObjectWhosePackIsRewrittenMeanwhile_aliasesItToTheNewPack() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofHours(5))) {
      Archived a = archive(cluster, 86);
      forget(cluster, List.of(a.hash(0), a.hash(1), a.hash(2)));
      // A third store path naming NAR 3's object appears in the bucket.
      ArchivedNar existing = cluster.catalog.narByStoreHash(a.hash(3)).orElseThrow();
      StorePath third = StorePath.makeSourcePath("third", NarInfo.parse(existing.narInfo()).narHash(), List.of());
      cluster.objects.put(third.hashPart() + ".narinfo", a.cacheKey().sign(NarInfo.parse(existing.narInfo()
          .replaceAll("Sig: .*\n", "").replace(a.paths().get(3).storePath().toString(), third.toString())))
          .toBytes(), "text/plain");
      // Migrate looked the object up on the old pack; the pack is rewritten before the alias is recorded.
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Interfering rewriting = new Interfering(coordinator(cluster), 1,
          () -> assertEquals(1, rewrite(cluster, coordinator(cluster), out).rewriteDead(0.5).rewritten()));
      MigrationSummary summary = new Migration(new MigrateConfig(TrustedKeys.of(a.cacheKey().publicKey()), 4, 2,
          64L << 20, PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), 0), cluster.objects,
          cluster.catalog, new HolderClient(Duration.ofSeconds(10)), cluster.archiveKey, rewriting,
          new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC()).run();
      assertTrue(rewriting.calls.get() >= 2, "the alias was placed again, for the new pack");
      assertEquals(0, summary.rejected(), summary.toString());
      PackId rewritten = cluster.catalog.packs().retired(a.pack()).orElseThrow().by().orElseThrow();
      assertEquals(rewritten, cluster.catalog.narByStoreHash(third.hashPart()).orElseThrow().packId());
      try (GatewayServer server = gateway(cluster)) {
        assertEquals(200, get(server.endpoint(), third.hashPart() + ".narinfo").statusCode());
        HttpResponse<byte[]> nar = get(server.endpoint(), a.paths().get(3).narKey());
        assertArrayEquals(a.nars().get(a.paths().get(3).narKey()), nar.body());
      }
    }
  }

  @Test
  void catalogRebuild_afterARefusedRewrite_servesEveryLivePath_theAliasAddedMeanwhileToo() throws Exception {
    rebuildAfterARefusedRewrite(false);
  }

  @Test
  void catalogRebuild_afterARefusedRewriteHalfCollected_servesEveryLivePathFromTheWholeOldPack() throws Exception {
    rebuildAfterARefusedRewrite(true);
  }

  /**
   * A rewrite refused (an alias archived meanwhile), then the catalog lost: every live path is
   * served after the rebuild. {@code halfCollected}: garbage collection had deleted three of the
   * refused pack's six fragments (k = 4) before the catalog was lost.
   */
  private void rebuildAfterARefusedRewrite(boolean halfCollected) throws Exception {
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofHours(5))) {
      Archived a = archive(cluster, 87);
      forget(cluster, List.of(a.hash(0), a.hash(1), a.hash(2)));
      // While the pack is rewritten, migrate archives a third store path naming NAR 3's object (an
      // alias document on the holders): the rewrite's commit is refused, its new manifest stays placed.
      ArchivedNar existing = cluster.catalog.narByStoreHash(a.hash(3)).orElseThrow();
      StorePath third = StorePath.makeSourcePath("third", NarInfo.parse(existing.narInfo()).narHash(), List.of());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      Interfering aliasing = new Interfering(coordinator(cluster), 1, () -> {
        cluster.objects.put(third.hashPart() + ".narinfo", a.cacheKey().sign(NarInfo.parse(existing.narInfo()
            .replaceAll("Sig: .*\n", "").replace(a.paths().get(3).storePath().toString(), third.toString())))
            .toBytes(), "text/plain");
        cluster.migrate(a.cacheKey().publicKey(), 4, 2);
      });
      assertEquals(new PackRewrite.Result(0, 0, 1, 0), rewrite(cluster, aliasing, out).rewriteDead(0.5));
      assertEquals(a.pack(), cluster.catalog.narByStoreHash(third.hashPart()).orElseThrow().packId());
      List<String> refused = List.copyOf(aliasing.asked.subList(0, 6));
      if (halfCollected) {
        // As garbage collection deletes them: through each holder's store (into its trash).
        int deleted = 0;
        for (String id : refused.subList(0, 3)) {
          for (FaultyStore store : cluster.stores) {
            deleted += store.delete(new FragmentId(id)) ? 1 : 0;
          }
        }
        assertEquals(3, deleted);
      }

      // The catalog is lost before garbage collection found the placed manifest: a rebuild must
      // not take it for a committed rewrite (it misses the third path).
      cluster.loseCatalog();
      cluster.awaitRegistered();
      ForgetTest.Run rebuilt = narvault(List.of("catalog-rebuild", "--coordinator",
          cluster.coordinator.endpoint().toString(), "--archive-public-key", cluster.archiveKey.publicKey().toString(),
          "--catalog", cluster.catalogUrl));
      assertEquals(0, rebuilt.exit(), rebuilt.printed());
      // Both packs were found whole: the newer (the rewrite that did not commit, holding every
      // object the live paths name) serves them all, the third path's alias document included,
      // and the old one, left with forgotten paths only, is retired. No live path on a retired pack.
      assertTrue(rebuilt.printed().contains("of the 2 packs rewrites touched that were found, 1 were left without a "
          + "live path and are retired, 1 serve paths"), rebuilt.printed());
      PackId serving = cluster.catalog.narByStoreHash(a.hash(3)).orElseThrow().packId();
      assertTrue(cluster.catalog.packs().retired(serving).isEmpty());
      assertEquals(6, cluster.catalog.placements(serving).size());
      if (halfCollected) {
        assertEquals(a.pack(), serving, "the whole pack serves, not the one with three fragments left");
      } else {
        assertTrue(refused.contains(cluster.catalog.placements(serving).getFirst().fragmentId()),
            "the newer of two whole packs serves");
      }
      for (String h : List.of(a.hash(3), a.twin().hashPart(), third.hashPart())) {
        assertEquals(serving, cluster.catalog.narByStoreHash(h).orElseThrow().packId(), h + ": " + rebuilt.printed());
      }
      if (!halfCollected) {
        assertEquals(Optional.of(serving), cluster.catalog.packs().retired(a.pack()).orElseThrow().by(),
            "the old pack is the one retired, in favour of the newer");
      }
      try (GatewayServer server = gateway(cluster)) {
        assertEquals(200, get(server.endpoint(), third.hashPart() + ".narinfo").statusCode());
        assertArrayEquals(a.nars().get(a.paths().get(3).narKey()), get(server.endpoint(),
            a.paths().get(3).narKey()).body());
        assertEquals(404, get(server.endpoint(), a.paths().get(0).narKey()).statusCode());
      }
    }
  }

  @Test
  void migrate_aliasingAnObjectTakenDownMeanwhile_rejectsTheAlias_andTheRunGoesOn() throws Exception {
    try (Cluster cluster = new Cluster(dir, 8, Duration.ofHours(5))) {
      Archived a = archive(cluster, 88);
      ArchivedNar existing = cluster.catalog.narByStoreHash(a.hash(3)).orElseThrow();
      StorePath third = StorePath.makeSourcePath("third", NarInfo.parse(existing.narInfo()).narHash(), List.of());
      cluster.objects.put(third.hashPart() + ".narinfo", a.cacheKey().sign(NarInfo.parse(existing.narInfo()
          .replaceAll("Sig: .*\\n", "").replace(a.paths().get(3).storePath().toString(), third.toString())))
          .toBytes(), "text/plain");
      // Migrate looked the object up; it is taken down before the alias is recorded.
      Interfering takingDown = new Interfering(coordinator(cluster), 1,
          () -> forget(cluster, List.of(a.hash(3))));
      MigrationSummary summary = new Migration(new MigrateConfig(TrustedKeys.of(a.cacheKey().publicKey()), 4, 2,
          64L << 20, PackLayout.DEFAULT_BLOCK_SIZE, Codecs.defaultKind(), dir.resolve("work"), 0), cluster.objects,
          cluster.catalog, new HolderClient(Duration.ofSeconds(10)), cluster.archiveKey, takingDown,
          new PrintStream(OutputStream.nullOutputStream()), Clock.systemUTC()).run();
      assertEquals(1, summary.rejected(), summary.toString());
      assertTrue(summary.rejections().getFirst().reason().contains("forgotten"), summary.toString());
      assertTrue(cluster.catalog.narByStoreHash(third.hashPart()).isEmpty(), "no alias on a taken-down object");
      assertTrue(cluster.catalog.forgotten().isForgotten(a.twin().hashPart()), "the earlier alias went with it");
    }
  }
}
