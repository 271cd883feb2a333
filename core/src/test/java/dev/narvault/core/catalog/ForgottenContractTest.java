package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.SignedTombstone;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Forgotten store paths (takedowns), on every backend (SQLite, and PostgreSQL when CI starts one). */
class ForgottenContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  private static SignedTombstone.Tombstone tombstone(String storeHash, String fileKey, String reason) {
    return new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT, storeHash, fileKey, "sha256:f", "sha256:n",
        "b".repeat(64), reason, 1_000);
  }

  private static final String A = "0".repeat(32);
  private static final String B = "1".repeat(32);

  @ParameterizedTest
  @MethodSource("backends")
  void record_forgetsThePathAndItsObject_withItsTombstoneDocument(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Forgotten forgotten = c.forgotten();
      assertFalse(forgotten.isForgotten(A));
      List<HolderId> holders = List.of(new HolderId("h1"), new HolderId("h2"), new HolderId("h3"));
      assertTrue(forgotten.record(tombstone(A, "nar/a.nar.xz", "leak"), new Catalog.DocumentCopies("d1", holders),
          "{\"forgotten\":{}}", Forgotten.S3Objects.PENDING));
      assertTrue(forgotten.isForgotten(A));
      assertTrue(forgotten.isForgottenObject("nar/a.nar.xz"));
      assertFalse(forgotten.isForgotten(B));
      assertFalse(forgotten.isForgottenObject("nar/b.nar.xz"));
      assertEquals(new Forgotten.Entry(tombstone(A, "nar/a.nar.xz", "leak"), "d1", Forgotten.S3Objects.PENDING),
          forgotten.entry(A).orElseThrow());
      Documents.Document doc = c.documents().document("d1").orElseThrow();
      assertEquals("tombstone", doc.kind());
      assertEquals(holders, doc.holders(), "its three copies, which repair keeps");
      assertEquals(Optional.of("{\"forgotten\":{}}"), c.documents().documentBody("d1"));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void record_twice_changesNothingTheSecondTime(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Forgotten forgotten = c.forgotten();
      assertTrue(forgotten.record(tombstone(A, "nar/a.nar.xz", "first"),
          new Catalog.DocumentCopies("d1", List.of(new HolderId("h1"))), "{}", Forgotten.S3Objects.PENDING));
      forgotten.s3ObjectsDeleted(A, 30);
      assertFalse(forgotten.record(tombstone(A, "nar/a.nar.xz", "second"),
          new Catalog.DocumentCopies("d2", List.of(new HolderId("h2"))), "{}", Forgotten.S3Objects.PENDING));
      Forgotten.Entry e = forgotten.entry(A).orElseThrow();
      assertEquals("first", e.tombstone().reason());
      assertEquals(Forgotten.S3Objects.DELETED, e.s3Objects(), "a rebuild's tombstone does not undo a deletion");
      assertTrue(c.documents().document("d2").isEmpty(), "no second document");
      assertEquals(1, forgotten.count());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void withS3Objects_pagesThroughThePending_untilEachIsDeleted(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Forgotten forgotten = c.forgotten();
      for (String h : List.of(B, A, "2".repeat(32))) {
        forgotten.record(tombstone(h, "nar/" + h + ".nar", "r"), new Catalog.DocumentCopies("d" + h, List.of()),
            "{}", Forgotten.S3Objects.PENDING);
      }
      List<Forgotten.Entry> first = forgotten.withS3Objects(Forgotten.S3Objects.PENDING, "", 2);
      assertEquals(List.of(A, B), first.stream().map(e -> e.tombstone().storeHash()).toList());
      assertEquals(List.of("2".repeat(32)), forgotten.withS3Objects(Forgotten.S3Objects.PENDING, B, 2).stream()
          .map(e -> e.tombstone().storeHash()).toList());
      forgotten.s3ObjectsDeleted(B, 30);
      assertEquals(List.of(A, "2".repeat(32)), forgotten.withS3Objects(Forgotten.S3Objects.PENDING, "", 10).stream()
          .map(e -> e.tombstone().storeHash()).toList());
      assertEquals(List.of(B), forgotten.withS3Objects(Forgotten.S3Objects.DELETED, "", 10).stream()
          .map(e -> e.tombstone().storeHash()).toList());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void deadShare_countsTheObjectsOnlyForgottenPathsName(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      List<HolderId> holders = new java.util.ArrayList<>();
      for (int h = 0; h < 5; h++) {
        CatalogContractTest.register(c, "h" + h, "http://127.0.0.1:" + (7000 + h), 1000);
        holders.add(new HolderId("h" + h));
      }
      dev.narvault.core.pack.Manifest m = CatalogContractTest.manifest(3, 5);
      dev.narvault.core.pack.PackId packId = dev.narvault.core.pack.ManifestCodec.packId(m);
      c.recordPack(packId, m, "{}", holders, 1);
      assertEquals(0.0, c.forgotten().deadShare(packId));
      // Another path naming the first object: it keeps the object live until it is forgotten too.
      ArchivedNar first = c.narByFileKey(m.nars().get(0).key()).orElseThrow();
      String twin = "3".repeat(32);
      c.addAlias(twin, first, first.narInfo(), 2);
      assertEquals(List.of(first.storeHash(), twin).stream().sorted().toList(),
          c.nars().narsByFileKey(first.fileKey()).stream().map(ArchivedNar::storeHash).toList(),
          "both paths naming the object, by store hash");
      forget(c, first);
      assertEquals(0.0, c.forgotten().deadShare(packId), "the twin still names it");
      forget(c, c.narByStoreHash(twin).orElseThrow());
      assertEquals((double) first.length() / m.packLength(), c.forgotten().deadShare(packId), 1e-12);
      forget(c, c.narByFileKey(m.nars().get(2).key()).orElseThrow());
      assertEquals((double) (first.length() + m.nars().get(2).length()) / m.packLength(),
          c.forgotten().deadShare(packId), 1e-12);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void s3ObjectsDeleted_drainsTheObjectsJournalEntries_notTheOthers(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      List<HolderId> holders = new java.util.ArrayList<>();
      for (int h = 0; h < 5; h++) {
        CatalogContractTest.register(c, "h" + h, "http://127.0.0.1:" + (7000 + h), 1000);
        holders.add(new HolderId("h" + h));
      }
      dev.narvault.core.pack.Manifest m = CatalogContractTest.manifest(3, 6);
      c.recordPack(dev.narvault.core.pack.ManifestCodec.packId(m), m, "{}", holders, 1);
      ArchivedNar first = c.narByFileKey(m.nars().get(0).key()).orElseThrow();
      String twin = "3".repeat(32);
      c.addAlias(twin, first, first.narInfo(), 2);
      assertEquals(3, c.journal().totals(Journal.State.COMMITTED).objects());
      forget(c, first);
      forget(c, c.narByStoreHash(twin).orElseThrow());
      assertEquals(3, c.journal().totals(Journal.State.COMMITTED).objects(), "recorded, not deleted yet");
      c.forgotten().s3ObjectsDeleted(first.storeHash(), 40);
      assertEquals(2, c.journal().totals(Journal.State.COMMITTED).objects(), "nothing left to drain of it");
      assertEquals(1, c.journal().totals(Journal.State.DRAINED).objects());
      for (Journal.State state : Journal.State.values()) {
        assertEquals(c.journal().totalsCounted(state), c.journal().totals(state), state.toString());
      }
      c.forgotten().s3ObjectsDeleted(twin, 41);
      assertEquals(1, c.journal().totals(Journal.State.DRAINED).objects(), "one object, both its paths");
      assertEquals(List.of(Journal.State.DRAINED, Journal.State.DRAINED), c.journal().all("", 10).stream()
          .filter(e -> e.fileKey().equals(first.fileKey())).map(Journal.Entry::state).toList());
      assertEquals(2, c.journal().all("", 10).stream().filter(e -> e.state() == Journal.State.COMMITTED).count());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void addAlias_toAForgottenObject_isRefused(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      List<HolderId> holders = new java.util.ArrayList<>();
      for (int h = 0; h < 5; h++) {
        CatalogContractTest.register(c, "h" + h, "http://127.0.0.1:" + (7000 + h), 1000);
        holders.add(new HolderId("h" + h));
      }
      dev.narvault.core.pack.Manifest m = CatalogContractTest.manifest(2, 7);
      c.recordPack(dev.narvault.core.pack.ManifestCodec.packId(m), m, "{}", holders, 1);
      ArchivedNar first = c.narByFileKey(m.nars().get(0).key()).orElseThrow();
      forget(c, first);
      String twin = "3".repeat(32);
      CatalogException e = assertThrows(CatalogException.class, () -> c.addAlias(twin, first, first.narInfo(), 2));
      assertTrue(e.getMessage().contains("forgotten"), e.getMessage());
      assertTrue(c.narByStoreHash(twin).isEmpty());
      ArchivedNar second = c.narByFileKey(m.nars().get(1).key()).orElseThrow();
      assertTrue(c.addAlias(twin, second, second.narInfo(), 3), "an object not forgotten takes aliases");
    }
  }

  private static void forget(Catalog c, ArchivedNar nar) throws Exception {
    c.forgotten().record(new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT, nar.storeHash(),
        nar.fileKey(), nar.fileHash(), "sha256:n", nar.packId().hex(), "r", 1), new Catalog.DocumentCopies(
        "d" + nar.storeHash(), List.of()), "{}", Forgotten.S3Objects.PENDING);
  }
}
