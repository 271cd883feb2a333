package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import dev.narvault.core.pack.SignedTombstone;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A pack rewritten without its forgotten NARs ({@link PackRecords#commitRewrite}), on every
 * backend: the live paths move in one transaction, the old pack is retired and its copies become
 * garbage, and whatever is not as the rewrite read it refuses the commit with nothing changed.
 */
class RewriteContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  private static final String OWNER = "rewrite-1";

  /** A catalog with ten holders and the old pack (4 NARs) on h0..h4, its manifest's copies on h0..h2. */
  private record Fixture(Catalog catalog, Manifest old, PackId oldId) {
    String hash(int nar) {
      return old.nars().get(nar).parsedNarInfo().storePath().hashPart();
    }
  }

  private static Fixture fixture(String backend) throws Exception {
    Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir));
    for (int h = 0; h < 10; h++) {
      CatalogContractTest.register(c, "h" + h, "http://h" + h, 1);
    }
    Manifest old = CatalogContractTest.manifest(4, 7);
    PackId oldId = ManifestCodec.packId(old);
    c.recordPack(oldId, old, "{\"old\":1}", holders(0, 5),
        Optional.of(new Catalog.DocumentCopies("m-old", holders(0, 3))), 10);
    return new Fixture(c, old, oldId);
  }

  private static List<HolderId> holders(int from, int to) {
    List<HolderId> list = new ArrayList<>();
    for (int h = from; h < to; h++) {
      list.add(new HolderId("h" + h));
    }
    return list;
  }

  /** Forgets the old pack's NAR {@code nar}, its tombstone document {@code t<nar>} naming the old pack. */
  private static void forget(Fixture f, int nar) throws CatalogException {
    Manifest.Nar n = f.old().nars().get(nar);
    f.catalog().forgotten().record(new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT, f.hash(nar), n.key(),
        n.fileHash(), "sha256:n", f.oldId().hex(), "leak", 20), new Catalog.DocumentCopies("t" + nar, holders(5, 8)),
        "{\"tombstone\":" + nar + "}", Forgotten.S3Objects.DELETED);
  }

  /** A manifest of a new RS(3,2) pack replacing {@code replaces}, holding these entries one after another (random bytes). */
  static Manifest rewritten(PackId replaces, List<Manifest.Nar> keep, long seed) throws Exception {
    Random random = new Random(seed);
    List<Manifest.Nar> nars = new ArrayList<>();
    long offset = 0;
    for (Manifest.Nar n : keep) {
      nars.add(new Manifest.Nar(n.key(), offset, n.length(), n.fileHash(), n.narInfo()));
      offset += n.length();
    }
    byte[] bytes = new byte[(int) offset];
    random.nextBytes(bytes);
    PackLayout layout = PackLayout.of(3, 2, bytes.length, 512);
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests =
        new PackEncoder(new BackblazeCodec(3, 2)).encode(PackSource.of(bytes), layout, sinks);
    return Manifest.of(layout, digests, nars, Optional.ofNullable(replaces));
  }

  private static void commit(Fixture f, Manifest m) throws CatalogException {
    f.catalog().packs().commitRewrite(f.oldId(), OWNER, ManifestCodec.packId(m), m, "{\"new\":1}", holders(5, 10),
        new Catalog.DocumentCopies("m-new", holders(5, 8)), 50);
  }

  private static void claim(Fixture f) throws CatalogException {
    assertTrue(f.catalog().repairClaims().claim(f.oldId(), OWNER, 30, 1_000_000));
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRewrite_movesTheLivePath_dropsTheForgotten_andRetiresTheOldPack(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3)), 1);
      PackId newId = ManifestCodec.packId(m);
      claim(f);
      commit(f, m);

      ArchivedNar live = c.narByStoreHash(f.hash(3)).orElseThrow();
      assertEquals(newId, live.packId());
      assertEquals(0, live.packOffset(), "its place in the new pack");
      assertEquals(f.old().nars().get(3).narInfo(), live.narInfo());
      assertEquals(List.of(newId), c.journal().all("", 10).stream().filter(e -> e.storeHash().equals(f.hash(3)))
          .map(Journal.Entry::packId).toList(), "the journal follows it");
      assertEquals(List.of(f.oldId()), c.journal().all("", 10).stream().filter(e -> e.storeHash().equals(f.hash(0)))
          .map(Journal.Entry::packId).toList(), "a forgotten path's entry stays with the retired pack");
      for (int n = 0; n < 3; n++) {
        assertTrue(c.narByStoreHash(f.hash(n)).isEmpty(), "forgotten NAR " + n + " has no row");
        assertTrue(c.forgotten().isForgotten(f.hash(n)), "and stays forgotten");
      }
      assertEquals(Optional.of(new PackRecords.Retired(Optional.of(newId), 50)), c.packs().retired(f.oldId()));
      assertTrue(c.custody().shape(f.oldId()).isEmpty(), "repair skips the retired pack");
      assertTrue(c.custody().shape(newId).isPresent());
      assertTrue(c.placements(f.oldId()).stream().allMatch(p -> p.state() == FragmentState.SUPERSEDED));
      assertEquals(5, c.healthyPlacements(newId).size());

      Set<String> garbage = c.custody().garbage(holders(0, 10), 0, 100).stream()
          .map(g -> g.kind() + ":" + g.fragmentId()).collect(Collectors.toSet());
      for (Manifest.Fragment fr : f.old().fragments()) {
        assertTrue(garbage.contains("FRAGMENT:" + fr.id().hex()), "old fragment " + fr.index() + " is garbage");
      }
      assertTrue(garbage.contains("DOCUMENT:m-old"), "the old manifest's copies are garbage");
      assertFalse(garbage.stream().anyMatch(g -> g.startsWith("DOCUMENT:t") || g.equals("DOCUMENT:m-new")),
          "tombstones and the new manifest are kept: " + garbage);
      for (Manifest.Fragment fr : m.fragments()) {
        assertFalse(garbage.contains("FRAGMENT:" + fr.id().hex()));
      }
      assertTrue(c.documents().document("m-old").orElseThrow().retired());
      assertFalse(c.documents().document("t0").orElseThrow().retired(), "a tombstone outlives its pack");
      assertFalse(c.documents().documentsOn(holders(0, 10)).stream().anyMatch(d -> d.docId().equals("m-old")),
          "repair does not copy the retired manifest again");
      assertFalse(c.custody().revive(f.oldId(), 0, new HolderId("h0")), "an audit does not revive a retired copy");
      assertEquals(FragmentState.SUPERSEDED, c.placements(f.oldId()).getFirst().state());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRewrite_withoutTheClaim_orTwice_changesNothing(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3)), 2);
      assertThrows(CatalogException.class, () -> commit(f, m), "no claim");
      assertTrue(f.catalog().repairClaims().claim(f.oldId(), OWNER, 30, 45));
      assertThrows(CatalogException.class, () -> commit(f, m), "a claim that expired before the commit (at 50)");
      assertUnchanged(f, m);
      c.repairClaims().release(f.oldId(), OWNER);
      assertTrue(c.repairClaims().claim(f.oldId(), "repair-coordinator", 30, 1_000_000));
      assertThrows(CatalogException.class, () -> commit(f, m), "repair holds the pack");
      assertUnchanged(f, m);
      c.repairClaims().release(f.oldId(), "repair-coordinator");
      claim(f);
      commit(f, m);
      claim(f);
      assertThrows(CatalogException.class, () -> commit(f, m), "a retired pack is not rewritten twice");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRewrite_refused_whenAPathWasAliasedToTheOldPackMeanwhile(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3)), 3);
      claim(f);
      // After the rewrite read the pack: another store path whose narinfo names the live object.
      ArchivedNar existing = c.narByStoreHash(f.hash(3)).orElseThrow();
      assertTrue(c.addAlias("0".repeat(32), existing, aliasNarInfo(f.old().nars().get(3)), 35));
      CatalogException e = assertThrows(CatalogException.class, () -> commit(f, m));
      assertTrue(e.getMessage().contains("0".repeat(32)), e.getMessage());
      assertUnchanged(f, m);
      assertEquals(f.oldId(), c.narByStoreHash("0".repeat(32)).orElseThrow().packId());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRewrite_refused_whenTheNewManifestListsAPathNotOnTheOldPack(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      Manifest other = CatalogContractTest.manifest(1, 99);
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3), other.nars().getFirst()), 4);
      claim(f);
      assertThrows(CatalogException.class, () -> commit(f, m));
      assertUnchanged(f, m);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void addAlias_toARetiredPack_isRefused(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      ArchivedNar before = c.narByStoreHash(f.hash(3)).orElseThrow();
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3)), 5);
      claim(f);
      commit(f, m);
      // A migrate worker that looked the object up before the commit.
      assertThrows(CatalogException.class,
          () -> c.addAlias("0".repeat(32), before, aliasNarInfo(f.old().nars().get(3)), 60));
      assertTrue(c.narByStoreHash("0".repeat(32)).isEmpty());
      // Looked up again, the object is in the new pack, and the alias goes there.
      assertTrue(c.addAlias("0".repeat(32), c.narByFileKey(before.fileKey()).orElseThrow(),
          aliasNarInfo(f.old().nars().get(3)), 61));
      assertEquals(ManifestCodec.packId(m), c.narByStoreHash("0".repeat(32)).orElseThrow().packId());
    }
  }

  /** Nothing of the rewrite landed: the old pack serves every path, the new one is not recorded. */
  private static void assertUnchanged(Fixture f, Manifest m) throws CatalogException {
    Catalog c = f.catalog();
    for (int n = 0; n < 4; n++) {
      assertEquals(f.oldId(), c.narByStoreHash(f.hash(n)).orElseThrow().packId(), "NAR " + n);
    }
    assertTrue(c.packs().retired(f.oldId()).isEmpty());
    assertTrue(c.custody().shape(f.oldId()).isPresent());
    assertTrue(c.custody().shape(ManifestCodec.packId(m)).isEmpty());
    assertTrue(c.placements(ManifestCodec.packId(m)).isEmpty());
    assertTrue(c.documents().document("m-new").isEmpty());
    assertEquals(5, c.healthyPlacements(f.oldId()).size());
    assertEquals(3, c.documents().document("m-old").orElseThrow().holders().size());
  }

  /** The narinfo of another store path naming the same object (same URL and hashes). */
  private static String aliasNarInfo(Manifest.Nar n) {
    Sha256Hash h = Sha256Hash.parse(n.fileHash());
    return NarInfo.create(StorePath.makeSourcePath("alias", h, List.of()), n.key(), "none", h, n.length(), h,
        n.length(), List.of()).text();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void commitRewrite_refused_whenTheNewManifestDoesNotNameTheOldPack(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      claim(f);
      Manifest unnamed = rewritten(null, List.of(f.old().nars().get(3)), 6);
      assertThrows(IllegalArgumentException.class, () -> commit(f, unnamed), "a rebuild could not retire the old pack");
      Manifest other = rewritten(ManifestCodec.packId(CatalogContractTest.manifest(1, 98)), List.of(f.old().nars().get(3)), 7);
      assertThrows(IllegalArgumentException.class, () -> commit(f, other));
      assertUnchanged(f, other);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void retireDead_onlyWhenEveryPathIsForgotten_andUnderTheClaim(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      claim(f);
      assertThrows(CatalogException.class, () -> c.packs().retireDead(f.oldId(), OWNER, 50), "NAR 3 is live");
      assertEquals(f.oldId(), c.narByStoreHash(f.hash(3)).orElseThrow().packId());
      assertTrue(c.packs().retired(f.oldId()).isEmpty());
      forget(f, 3);
      assertThrows(CatalogException.class, () -> c.packs().retireDead(f.oldId(), "someone-else", 50));
      c.packs().retireDead(f.oldId(), OWNER, 50);
      assertEquals(Optional.of(new PackRecords.Retired(Optional.empty(), 50)), c.packs().retired(f.oldId()));
      assertTrue(c.custody().shape(f.oldId()).isEmpty(), "repair leaves it");
      assertTrue(c.placements(f.oldId()).stream().allMatch(p -> p.state() == FragmentState.SUPERSEDED));
      for (int n = 0; n < 4; n++) {
        assertTrue(c.narByStoreHash(f.hash(n)).isEmpty());
        assertTrue(c.forgotten().isForgotten(f.hash(n)));
      }
      claim(f);
      assertThrows(CatalogException.class, () -> c.packs().retireDead(f.oldId(), OWNER, 60), "once");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void retireWithoutLivePaths_retiresAPackWhosePathsAreForgottenOrElsewhere_neverOneThatServesAPath(String backend)
      throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      Manifest m = rewritten(f.oldId(), List.of(f.old().nars().get(3)), 9);
      PackId newId = ManifestCodec.packId(m);
      for (int n = 0; n < 3; n++) {
        forget(f, n);
      }
      assertFalse(c.packs().retireWithoutLivePaths(f.oldId(), Optional.of(newId), 60), "NAR 3 is live on it");
      assertTrue(c.packs().retired(f.oldId()).isEmpty());
      // Restored after the old pack, a rewrite that never committed gets no row (NAR 3's is taken):
      // it serves nothing, and goes.
      c.recordPack(newId, m, "{\"new\":1}", holders(5, 10), 61);
      assertEquals(f.oldId(), c.narByStoreHash(f.hash(3)).orElseThrow().packId());
      assertTrue(c.packs().retireWithoutLivePaths(newId, Optional.empty(), 62));
      assertEquals(Optional.of(new PackRecords.Retired(Optional.empty(), 62)), c.packs().retired(newId));
      assertEquals(5, c.healthyPlacements(f.oldId()).size(), "the pack serving NAR 3 untouched");
      assertEquals(f.oldId(), c.narByStoreHash(f.hash(3)).orElseThrow().packId());
      // Every path on the old pack forgotten: it goes too.
      forget(f, 3);
      assertTrue(c.packs().retireWithoutLivePaths(f.oldId(), Optional.of(newId), 70));
      assertEquals(Optional.of(new PackRecords.Retired(Optional.of(newId), 70)), c.packs().retired(f.oldId()));
      assertTrue(c.placements(f.oldId()).stream().allMatch(p -> p.state() == FragmentState.SUPERSEDED));
      assertTrue(c.documents().document("m-old").orElseThrow().retired());
      for (int n = 0; n < 4; n++) {
        assertTrue(c.narByStoreHash(f.hash(n)).isEmpty(), "its forgotten rows go");
      }
      assertFalse(c.packs().retireWithoutLivePaths(f.oldId(), Optional.empty(), 80), "once");
      assertFalse(c.packs().retireWithoutLivePaths(ManifestCodec.packId(CatalogContractTest.manifest(1, 97)),
          Optional.empty(), 80), "a pack not recorded");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void restoreSharingObjects_indexesAPathOnThePackThatHoldsItsObjectAlready(String backend) throws Exception {
    Fixture f = fixture(backend);
    try (Catalog c = f.catalog()) {
      // A rewrite's manifest: NAR 3 again, and another store path naming its object.
      Manifest.Nar three = f.old().nars().get(3);
      Manifest.Nar twin = new Manifest.Nar(three.key(), three.offset(), three.length(), three.fileHash(),
          aliasNarInfo(three));
      Manifest m = rewritten(f.oldId(), List.of(three, twin), 10);
      PackId newId = ManifestCodec.packId(m);
      java.util.Map<Integer, List<HolderId>> on = new java.util.HashMap<>();
      for (int i = 0; i < 5; i++) {
        on.put(i, List.of(new HolderId("h" + (5 + i))));
      }
      c.packs().restoreSharingObjects(new PackRecords.Restored(newId, m, "{\"new\":1}", on, Optional.empty()),
          FragmentState.UNVERIFIED, 70);
      String twinHash = twin.parsedNarInfo().storePath().hashPart();
      ArchivedNar onOld = c.narByStoreHash(twinHash).orElseThrow();
      assertEquals(f.oldId(), onOld.packId(), "the twin is read where its object already is");
      assertEquals(three.offset(), onOld.packOffset());
      assertEquals(f.oldId(), c.narByStoreHash(f.hash(3)).orElseThrow().packId());
      assertTrue(c.nars().narsOnPack(newId).isEmpty(), "nothing is served from the second copy");
      assertEquals(5, c.placements(newId).size(), "its copies are recorded all the same");
      assertTrue(c.journal().all("", 20).stream().anyMatch(e -> e.storeHash().equals(twinHash)
          && e.packId().equals(f.oldId())), "the journal names the pack it is on");
    }
  }
}
