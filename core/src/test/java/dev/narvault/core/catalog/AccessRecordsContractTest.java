package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Access records, on every backend (SQLite, and PostgreSQL when CI starts one). */
class AccessRecordsContractTest {
  static final long DAY = AccessRecords.DAY_MILLIS;
  static final long T = 20_000 * DAY + 3_600_000;
  static final String A = "0c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";
  static final String B = "1c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";
  static final String KEY = "nar/1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3.nar.xz";

  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  /** A pack of {@code n} archived NARs; their manifest. */
  static Manifest archive(Catalog c, int n, long seed) throws Exception {
    List<HolderId> holders = new ArrayList<>();
    for (int h = 0; h < 5; h++) {
      CatalogContractTest.register(c, "h" + h, "http://h" + h, 1);
      holders.add(new HolderId("h" + h));
    }
    Manifest m = CatalogContractTest.manifest(n, seed);
    c.recordPack(ManifestCodec.packId(m), m, "{}", holders, 1);
    return m;
  }

  @ParameterizedTest
  @MethodSource("backends")
  void record_keepsTheLatestRequest_whateverTheOrder_andCountsThemAll(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      AccessRecords access = c.access();
      AccessRecords.Batch first = new AccessRecords.Batch();
      first.add(A, T);
      first.add(A, T - 5 * DAY);
      first.add(B, T - DAY, 3);
      access.record(first);
      AccessRecords.Batch older = new AccessRecords.Batch();
      older.add(A, T - 100 * DAY);
      access.record(older);
      assertEquals(Optional.of(new AccessRecords.Record(A, T, 3)), access.get(A), "an older log keeps the latest");
      assertEquals(Optional.of(new AccessRecords.Record(B, T - DAY, 3)), access.get(B));
      assertEquals(OptionalLong.of(T), access.lastRequest(List.of(A, B, KEY)));
      assertEquals(OptionalLong.of(T - DAY), access.lastRequest(List.of(B)));
      assertEquals(OptionalLong.empty(), access.lastRequest(List.of(KEY)));
      assertEquals(OptionalLong.empty(), access.lastRequest(List.of()));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void narKeys_becomeTheStorePathTheCatalogKnows_othersStayKeys(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Manifest m = archive(c, 2, 7);
      Manifest.Nar archived = m.nars().getFirst();
      String hash = archived.parsedNarInfo().storePath().hashPart();
      AccessRecords.Batch batch = new AccessRecords.Batch();
      batch.add(archived.key(), T, 2);
      batch.add(KEY, T);
      AccessRecords.Written w = c.access().record(batch);
      assertEquals(1, w.narKeysNamed());
      assertEquals(1, w.narKeysUnknown());
      assertEquals(Optional.of(new AccessRecords.Record(hash, T, 2)), c.access().get(hash));
      assertEquals(Optional.empty(), c.access().get(archived.key()), "recorded by its store hash");
      assertEquals(Optional.of(new AccessRecords.Record(KEY, T, 1)), c.access().get(KEY), "not archived: by its key");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void hotArchived_countsOnlyArchivedNars_onTheDaysAsked(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Manifest m = archive(c, 3, 8);
      String h0 = m.nars().get(0).parsedNarInfo().storePath().hashPart();
      String h1 = m.nars().get(1).parsedNarInfo().storePath().hashPart();
      AccessRecords.Batch batch = new AccessRecords.Batch();
      batch.add(h0, T, 5);
      batch.add(h0, T - 10 * DAY, 100);
      batch.add(m.nars().get(1).key(), T - DAY, 4);
      batch.add(A, T, 1000);
      c.access().record(batch);
      int today = AccessRecords.day(T);
      List<AccessRecords.Hot> lastWeek = new ArrayList<>(c.access().hotArchived(today - 7, 4, "", 10));
      lastWeek.sort(java.util.Comparator.comparing(AccessRecords.Hot::storeHash));
      List<AccessRecords.Hot> expected = new ArrayList<>(List.of(new AccessRecords.Hot(h0, 5),
          new AccessRecords.Hot(h1, 4)));
      expected.sort(java.util.Comparator.comparing(AccessRecords.Hot::storeHash));
      assertEquals(expected, lastWeek, "not the old requests, not the unarchived path");
      assertEquals(List.of(new AccessRecords.Hot(h0, 105)), c.access().hotArchived(today - 30, 10, "", 10));
      assertEquals(List.of(), c.access().hotArchived(today - 7, 6, "", 10));
      // Paged by store hash.
      String firstHash = expected.getFirst().storeHash();
      assertEquals(List.of(expected.get(1)), c.access().hotArchived(today - 7, 4, firstHash, 10));
      // Pruned after DAYS_KEPT days.
      assertEquals(1, c.access().pruneDays(T + (AccessRecords.DAYS_KEPT - 9) * DAY));
      assertEquals(List.of(new AccessRecords.Hot(h0, 5)), c.access().hotArchived(today - 30, 5, "", 10));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void imports_areNotedByDigest_andTheirSpanIsTheCoverage(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      AccessRecords access = c.access();
      assertEquals(Optional.empty(), access.coverage());
      access.recordImport(new AccessRecords.ImportedFile("d1", "a.log", 10, T - 5 * DAY, T - 4 * DAY, T));
      access.recordImport(new AccessRecords.ImportedFile("d2", "b.log", 3, T - 2 * DAY, T - DAY, T));
      access.recordImport(new AccessRecords.ImportedFile("d3", "empty.log", 0, 0, 0, T));
      assertEquals(Optional.of(new AccessRecords.Coverage(2, T - 5 * DAY, T - DAY)), access.coverage());
      assertTrue(access.imported("d1").isPresent());
      assertEquals(Optional.empty(), access.imported("d4"));
      access.recordImport(new AccessRecords.ImportedFile("d1", "a.log", 11, T - 5 * DAY, T - 4 * DAY, T + 1));
      assertEquals(11, access.imported("d1").orElseThrow().requests(), "imported again: the latest counts");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void aBatch_refusesWhatIsNoSubject(String backend) {
    AccessRecords.Batch batch = new AccessRecords.Batch();
    for (String bad : List.of("", "nar/", "nar/../x", "nar/a b", "e" + A.substring(1), A + "x", "/" + A,
        "nar/" + "a".repeat(300))) {
      assertThrows(IllegalArgumentException.class, () -> batch.add(bad, T), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> batch.add(A, T, 0));
    assertTrue(batch.isEmpty(), backend);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void restoredNars_areTheirOwnJournalState(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      Manifest m = archive(c, 1, 9);
      Manifest.Nar nar = m.nars().getFirst();
      String hash = nar.parsedNarInfo().storePath().hashPart();
      Journal j = c.journal();
      j.advance(nar.key(), Journal.State.COMMITTED, Journal.State.VERIFIED, 2);
      j.advance(nar.key(), Journal.State.VERIFIED, Journal.State.DRAINED, 3);
      assertEquals(1, j.advance(nar.key(), Journal.State.DRAINED, Journal.State.RESTORED, 4));
      assertEquals(Optional.of(Journal.State.RESTORED), j.state(hash));
      assertEquals(new Journal.Totals(1, nar.length()), j.totals(Journal.State.RESTORED));
      assertEquals(j.totalsCounted(Journal.State.RESTORED), j.totals(Journal.State.RESTORED));
      assertEquals(new Journal.Totals(0, 0), j.totals(Journal.State.DRAINED));
      assertEquals(List.of(hash), j.storeHashesOf(nar.key()));
      PackId packId = ManifestCodec.packId(m);
      assertEquals(1, j.inPack(packId, Journal.State.RESTORED).size());
    }
  }
}
