package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackEncoder;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.pack.PackSource;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The catalog's contract, on every backend: SQLite always, PostgreSQL when
 * {@code NARVAULT_TEST_POSTGRES_URL} names a server ({@code .ci/run} starts one).
 */
class CatalogContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    List<String> urls = new ArrayList<>();
    urls.add("sqlite");
    String pg = System.getenv("NARVAULT_TEST_POSTGRES_URL");
    if (pg != null && !pg.isBlank()) {
      urls.add(pg);
    }
    return urls.stream();
  }

  /** A fresh, empty catalog on the backend. */
  static String freshUrl(String backend) throws Exception {
    return freshUrl(backend, dir);
  }

  /** A fresh, empty catalog on the backend; SQLite files go to {@code dir}. */
  static String freshUrl(String backend, Path dir) throws Exception {
    if (backend.equals("sqlite")) {
      return "jdbc:sqlite:" + dir.resolve(UUID.randomUUID() + ".db");
    }
    String schema = "t" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = DriverManager.getConnection(backend); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    }
    return backend + (backend.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  static Manifest manifest(int objects, long seed) throws Exception {
    Random random = new Random(seed);
    ByteArrayOutputStream pack = new ByteArrayOutputStream();
    List<Manifest.Nar> nars = new ArrayList<>();
    for (int i = 0; i < objects; i++) {
      byte[] object = new byte[100 + random.nextInt(1000)];
      random.nextBytes(object);
      Sha256Hash h = Sha256Hash.of(object);
      String url = "nar/" + h.toNix32() + ".nar";
      NarInfo info = NarInfo.create(StorePath.makeSourcePath("p" + i, h, List.of()), url, "none", h, object.length, h,
          object.length, List.of());
      nars.add(new Manifest.Nar(url, pack.size(), object.length, h.toNixString(), info.text()));
      pack.writeBytes(object);
    }
    byte[] bytes = pack.toByteArray();
    PackLayout layout = PackLayout.of(3, 2, bytes.length, 512);
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(3, 2)).encode(PackSource.of(bytes), layout, sinks);
    return Manifest.of(layout, digests, nars);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void open_createsSchemaOnceAndReopens(String backend) throws Exception {
    String url = freshUrl(backend);
    try (Catalog c = Catalog.open(url)) {
      assertEquals(Schema.MIGRATIONS.size(), c.schemaVersion());
    }
    try (Catalog c = Catalog.open(url)) {
      assertEquals(Schema.MIGRATIONS.size(), c.schemaVersion());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void recordPack_thenLookupsFindEveryNarAndPlacement(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://127.0.0.1:" + (7000 + h), 1000);
      }
      Manifest m = manifest(4, 1);
      PackId packId = ManifestCodec.packId(m);
      c.recordPack(packId, m, "{\"signed\":true}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")), 2000);
      for (Manifest.Nar nar : m.nars()) {
        String hash = nar.parsedNarInfo().storePath().hashPart();
        ArchivedNar found = c.narByStoreHash(hash).orElseThrow();
        assertEquals(new ArchivedNar(hash, nar.key(), nar.fileHash(), packId, nar.offset(), nar.length(), nar.narInfo()), found);
        assertEquals(found, c.narByFileKey(nar.key()).orElseThrow());
      }
      List<FragmentPlacement> placements = c.placements(packId);
      assertEquals(5, placements.size());
      for (int i = 0; i < 5; i++) {
        assertEquals(i, placements.get(i).fragmentIndex());
        assertEquals(m.fragments().get(i).id().hex(), placements.get(i).fragmentId());
        assertEquals("http://127.0.0.1:" + (7000 + i), placements.get(i).endpoint());
      }
      assertEquals("{\"signed\":true}", c.signedManifest(packId).orElseThrow());
      assertTrue(c.narByStoreHash("00000000000000000000000000000000").isEmpty());
      assertEquals(4, c.totals()[1]);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void recordPack_twice_isHarmless_andANarKeepsItsFirstPack(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://h" + h, 1);
      }
      Manifest m = manifest(3, 2);
      PackId packId = ManifestCodec.packId(m);
      List<HolderId> holders = List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4"));
      c.recordPack(packId, m, "{}", holders, 1);
      c.recordPack(packId, m, "{}", holders, 2);
      assertEquals(1, c.totals()[0]);
      assertEquals(3, c.totals()[1]);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void recordPack_withUnknownHolder_failsAndRecordsNothing(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      Manifest m = manifest(2, 3);
      assertThrows(CatalogException.class,
          () -> c.recordPack(ManifestCodec.packId(m), m, "{}", List.of(new HolderId("h0"), new HolderId("h0x"), new HolderId("h0"), new HolderId("h0"), new HolderId("h0")), 1));
      assertEquals(0, c.totals()[0]);
      assertEquals(0, c.totals()[1]);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void holders_registerHeartbeatAndRefuseReplays(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      HolderRecord h = HolderRecord.registering(new HolderId("hid"), "http://h:1", "k:AAAA", 1000, 10, 1, "v1", "alice", "NL", 5,
          "192.0.2.7");
      assertTrue(c.registerHolder(h, 100));
      assertTrue(!c.registerHolder(h, 100), "same timestamp again is a replay");
      assertTrue(c.recordHeartbeat(new HolderId("hid"), 50, 2, "v2", 101, 999));
      assertTrue(!c.recordHeartbeat(new HolderId("hid"), 60, 3, "v3", 101, 1000), "replayed heartbeat");
      assertTrue(!c.recordHeartbeat(new HolderId("hid"), 60, 3, "v3", 99, 1000), "older heartbeat");
      assertTrue(!c.recordHeartbeat(new HolderId("nobody"), 1, 1, "v", 500, 1000), "unknown holder");
      HolderRecord now = c.holder(new HolderId("hid")).orElseThrow();
      assertEquals(50, now.usedBytes());
      assertEquals(2, now.fragmentCount());
      assertEquals("v2", now.version());
      assertEquals(999, now.lastSeenMillis());
      assertEquals("alice", now.operator());
      assertEquals(Optional.of("k:AAAA"), now.publicKey());
      assertEquals("192.0.2.7", now.seenAddress());
      assertEquals(5, now.registeredMillis());
      assertTrue(c.registerHolder(HolderRecord.registering(new HolderId("hid"), "http://h:2", "k:AAAA", 1000, 10, 1, "v1", "alice",
          "NL", 7000, "192.0.2.8"), 200));
      assertEquals(5, c.holder(new HolderId("hid")).orElseThrow().registeredMillis(), "re-registering keeps the first registration");
      assertEquals("http://h:2", c.holder(new HolderId("hid")).orElseThrow().endpoint());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void audits_aFailureMarksTheCopyButForgives_aPersistentLiarIsDisqualifiedForGood(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://h" + h, 1);
      }
      Manifest m = manifest(2, 4);
      PackId packId = ManifestCodec.packId(m);
      String f0 = m.fragments().get(0).id().hex();
      c.recordPack(packId, m, "{}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")), 1);
      assertEquals(5, c.healthyPlacements(packId).size());
      assertTrue(c.recordAudit(new HolderId("h1"), m.fragments().get(1).id().hex(), true, "ok", 2).value() == 1.0);
      assertEquals(1, c.holder(new HolderId("h1")).orElseThrow().auditsPassed());
      assertEquals(2, c.holder(new HolderId("h1")).orElseThrow().reachedMillis(), "an answered audit is a reach");
      AuditScore failed = c.recordAudit(new HolderId("h0"), f0, false, "wrong bytes", 2);
      assertTrue(!failed.suspect(), "one failure is forgiven: " + failed);
      assertEquals(AuditState.OK, c.holder(new HolderId("h0")).orElseThrow().auditState());
      assertEquals(FragmentState.CORRUPT, c.placements(packId).get(0).state(), "the audited copy counts as lost");
      assertEquals(List.of(true), c.auditResults(new HolderId("h1")));
      assertEquals(List.of(false), c.auditResults(new HolderId("h0")));
      assertEquals(4, c.healthyPlacements(packId).size());
      c.recordScrubReport(new HolderId("h1"), m.fragments().get(1).id().hex(), 3);
      assertEquals(FragmentState.CORRUPT, c.placements(packId).get(1).state());
      assertEquals(3, c.healthyPlacements(packId).size());
      AuditScore score = failed;
      int failures = 1;
      while (c.holder(new HolderId("h0")).orElseThrow().auditState() != AuditState.SUSPECT) {
        score = c.recordAudit(new HolderId("h0"), f0, false, "wrong bytes", 4 + failures);
        failures++;
      }
      assertTrue(failures >= 9 && failures <= 11, failures + " failures to suspicion");
      assertEquals(score, c.holder(new HolderId("h0")).orElseThrow().audit());
      while (!c.holder(new HolderId("h0")).orElseThrow().disqualified()) {
        c.recordAudit(new HolderId("h0"), f0, false, "wrong bytes", 100 + failures);
        failures++;
      }
      assertTrue(failures >= 40 && failures <= 45, failures + " failures to disqualification");
      for (int i = 0; i < 200; i++) {
        c.recordAudit(new HolderId("h0"), f0, true, "ok", 1000 + i);
      }
      assertTrue(c.holder(new HolderId("h0")).orElseThrow().disqualified(), "disqualification is for good");
      c.recordAudit(new HolderId("h2"), m.fragments().get(2).id().hex(), true, "ok", 5000);
      for (int i = 0; i < 60; i++) {
        c.recordAudit(new HolderId("h2"), "ee".repeat(32), false, "wrong bytes (another fragment)", 5001 + i);
      }
      assertTrue(c.holder(new HolderId("h2")).orElseThrow().disqualified());
      assertEquals(2, c.healthyPlacements(packId).size(), "a disqualified holder's other copies no longer count");
      assertTrue(c.healthyPlacements(packId).stream().noneMatch(p -> p.holderId().equals(new HolderId("h2"))));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void audits_suspicionClearsAfterPasses(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      for (int i = 0; i < 12; i++) {
        c.recordAudit(new HolderId("h0"), "ab".repeat(32), false, "wrong", 2 + i);
      }
      assertTrue(c.holder(new HolderId("h0")).orElseThrow().suspect());
      int passes = 0;
      while (c.holder(new HolderId("h0")).orElseThrow().suspect()) {
        c.recordAudit(new HolderId("h0"), "ab".repeat(32), true, "ok", 100 + passes);
        passes++;
      }
      assertTrue(passes > 1 && passes < 2000, passes + " passes to climb back");
      assertEquals(AuditState.OK, c.holder(new HolderId("h0")).orElseThrow().auditState());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void contacts_troubleMovesOnlyTheSuspensionScore_andProofsUpdateTheAddress(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      for (int i = 0; i < 100; i++) {
        c.registry().recordContact(new HolderId("h0"), false, 10 + i);
      }
      HolderRecord troubled = c.holder(new HolderId("h0")).orElseThrow();
      assertTrue(troubled.suspended(), troubled.suspension().toString());
      assertEquals(AuditScore.NEW, troubled.audit(), "honest trouble is not an audit failure");
      assertEquals(1, troubled.reachedMillis(), "not reached since registration");
      // Suspended: a proof moves the address but is not data served, so neither reach nor score.
      c.registry().recordProof(new HolderId("h0"), "198.51.100.9", 500);
      HolderRecord proven = c.holder(new HolderId("h0")).orElseThrow();
      assertEquals("198.51.100.9", proven.seenAddress());
      assertEquals(1, proven.reachedMillis(), "a suspended holder is not reached by a proof");
      assertEquals(troubled.suspension(), proven.suspension());
      assertTrue(c.registerHolder(HolderRecord.registering(new HolderId("h0"), "http://h0", "k", 1, 0, 0, "v", "", "", 510,
          "198.51.100.9"), 510));
      assertEquals(1, c.holder(new HolderId("h0")).orElseThrow().reachedMillis(), "nor by registering again");
      // A passed audit is data served: reached, and the suspension starts to heal.
      c.recordAudit(new HolderId("h0"), "f", true, "", 520);
      HolderRecord audited = c.holder(new HolderId("h0")).orElseThrow();
      assertEquals(520, audited.reachedMillis());
      assertTrue(audited.suspension().value() > proven.suspension().value(), audited.suspension().toString());
      for (int i = 0; i < 200; i++) {
        c.registry().recordContact(new HolderId("h0"), true, 600 + i);
      }
      assertTrue(!c.holder(new HolderId("h0")).orElseThrow().suspended(), "answers bring it back");
      c.registry().recordContact(new HolderId("h0"), true, 300);
      assertEquals(799, c.holder(new HolderId("h0")).orElseThrow().reachedMillis(), "an older contact never moves reach back");
      c.registry().recordProof(new HolderId("h0"), "198.51.100.9", 900);
      assertEquals(900, c.holder(new HolderId("h0")).orElseThrow().reachedMillis(), "no longer suspended: proofs reach it");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void declareAway_recordsTheAbsence_andSpendsTheAllowance_onEveryCatalogOfTheDatabase(String backend)
      throws Exception {
    String url = freshUrl(backend);
    long day = java.time.Duration.ofDays(1).toMillis();
    try (Catalog a = Catalog.open(url); Catalog b = Catalog.open(url)) {
      register(a, "h0", "http://h0", 1);
      HolderId h0 = new HolderId("h0");
      assertEquals(HolderAway.NONE, a.holder(h0).orElseThrow().away(), "a new holder: nothing declared, all allowance");
      long t0 = 100 * day;
      HolderAway away = a.registry().declareAway(h0, t0 + 4 * day, t0);
      assertEquals(away, b.holder(h0).orElseThrow().away());
      assertEquals(3 * day, away.allowanceAt(t0));
      // A second coordinator on the same catalog sees and spends the same allowance: replacing
      // the 4-day absence by a 7-day one gives the 4 days back first, and leaves nothing.
      HolderAway longer = b.registry().declareAway(h0, t0 + 7 * day, t0);
      HolderAway now = a.holder(h0).orElseThrow().away();
      assertEquals(longer, now);
      assertEquals(t0 + 7 * day, now.untilMillis());
      assertEquals(0, now.allowanceAt(t0), "7 days declared of 7");
      assertThrows(IllegalArgumentException.class, () -> a.registry().declareAway(h0, t0 + 8 * day, t0 + day));

      HolderAway back = a.registry().declareAway(h0, 0, t0 + 7 * day);
      assertTrue(!back.away(t0 + 7 * day));
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void journalTotals_keptAsTheJournalChanges_equalTheCountFromTheEntries(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      List<HolderId> holders = new ArrayList<>();
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://h" + h, 1);
        holders.add(new HolderId("h" + h));
      }
      Random random = new Random(9);
      List<String> keys = new ArrayList<>();
      for (int pack = 0; pack < 3; pack++) {
        Manifest m = manifest(6, 100 + pack);
        PackId packId = ManifestCodec.packId(m);
        c.recordPack(packId, m, "{}", holders, pack);
        c.recordPack(packId, m, "{}", holders, pack); // a repeated commit counts nothing twice
        m.nars().forEach(n -> keys.add(n.key()));
        assertTotalsAgree(c);
        // The drain's moves, and a verification undone, in random order; some repeated (no-ops).
        for (int i = 0; i < 20; i++) {
          String key = keys.get(random.nextInt(keys.size()));
          switch (random.nextInt(6)) {
            case 0 -> c.journal().advance(key, Journal.State.COMMITTED, Journal.State.VERIFIED, i);
            case 1 -> c.journal().advance(key, Journal.State.VERIFIED, Journal.State.DRAINED, i);
            case 2 -> c.journal().advance(key, Journal.State.VERIFIED, Journal.State.COMMITTED, i);
            case 3 -> c.journal().restored(key, "cache", i);
            case 4 -> c.journal().advance(key, Journal.State.RESTORED, Journal.State.COMMITTED, i);
            default -> c.journal().advance(key, Journal.State.DRAINED, Journal.State.DRAINED, i);
          }
          assertTotalsAgree(c);
        }
      }
      long total = 0;
      for (Journal.State state : Journal.State.values()) {
        total += c.journal().totals(state).objects();
      }
      assertEquals(keys.size(), total, "every object in exactly one state");

      // Another store path naming an object already drained: the object has entries in two
      // states now, and its moves meet a state it is already counted in.
      String key = keys.getFirst();
      c.journal().advance(key, Journal.State.COMMITTED, Journal.State.VERIFIED, 100);
      c.journal().advance(key, Journal.State.VERIFIED, Journal.State.DRAINED, 101);
      ArchivedNar existing = c.narByFileKey(key).orElseThrow();
      String aliasHash = "0".repeat(31) + "1";
      assertTrue(c.addAlias(aliasHash, existing, "StorePath: /nix/store/" + aliasHash + "-alias\n", 102));
      assertTotalsAgree(c);
      c.journal().advance(key, Journal.State.COMMITTED, Journal.State.VERIFIED, 103);
      assertTotalsAgree(c);
      c.journal().advance(key, Journal.State.VERIFIED, Journal.State.DRAINED, 104);
      assertTotalsAgree(c);
      // Put back: both entries, from their two states, restored in one bucket.
      c.journal().advance(key, Journal.State.DRAINED, Journal.State.COMMITTED, 105);
      c.journal().advance(key, Journal.State.COMMITTED, Journal.State.VERIFIED, 105);
      c.journal().advance(key, Journal.State.VERIFIED, Journal.State.DRAINED, 105);
      c.addAlias("0".repeat(31) + "2", existing, "StorePath: /nix/store/" + "0".repeat(31) + "2-alias\n", 106);
      assertEquals(3, c.journal().restored(key, "cache", 107));
      assertTotalsAgree(c);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void restored_namesTheBucket_andOnlyThatBucketCountsAsDone(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      Manifest m = manifest(3, 7);
      c.recordPack(ManifestCodec.packId(m), m, "{}", List.of(new HolderId("h0"), new HolderId("h0"),
          new HolderId("h0"), new HolderId("h0"), new HolderId("h0")), 1);
      String drained = m.nars().get(0).key();
      String committed = m.nars().get(1).key();
      c.journal().advance(drained, Journal.State.COMMITTED, Journal.State.VERIFIED, 2);
      c.journal().advance(drained, Journal.State.VERIFIED, Journal.State.DRAINED, 3);
      String hash = c.narByFileKey(drained).orElseThrow().storeHash();
      assertTrue(!c.journal().isRestoredIn(drained, "cache"));

      c.journal().restored(drained, "cache", 4);
      c.journal().restored(committed, "elsewhere", 4);
      assertTrue(c.journal().isRestoredIn(drained, "cache"));
      assertTrue(!c.journal().isRestoredIn(drained, "elsewhere"));
      assertTrue(c.journal().isRestoredIn(committed, "elsewhere"));
      assertEquals(Optional.of("cache"), c.journal().restoredTo(hash));
      assertEquals(Optional.of(Journal.State.RESTORED), c.journal().state(hash));
      assertTrue(!c.journal().isRestoredIn(m.nars().get(2).key(), "cache"), "never put back");
      assertTrue(!c.journal().isRestoredIn("nar/none.nar", "cache"), "no such object");

      // A restored object drained again no longer names a bucket; a promote of old (no bucket) is not done.
      c.journal().advance(drained, Journal.State.RESTORED, Journal.State.COMMITTED, 5);
      assertEquals(Optional.empty(), c.journal().restoredTo(hash));
      c.journal().advance(drained, Journal.State.COMMITTED, Journal.State.RESTORED, 6);
      assertTrue(!c.journal().isRestoredIn(drained, "cache"));
      List<String> sorted = m.nars().stream().map(Manifest.Nar::key).sorted().toList();
      assertEquals(sorted, c.journal().all("", 10).stream().map(Journal.Entry::fileKey).toList(), "every state");
      assertEquals(sorted.subList(1, 3), c.journal().all(sorted.get(0), 10).stream().map(Journal.Entry::fileKey)
          .toList());
      assertTrue(!c.journal().isRestoredIn(drained, "cache"));
      assertThrows(IllegalArgumentException.class, () -> c.journal().restored(drained, " ", 7));
    }
  }

  private static void assertTotalsAgree(Catalog c) throws CatalogException {
    for (Journal.State state : Journal.State.values()) {
      assertEquals(c.journal().totalsCounted(state), c.journal().totals(state), state.toString());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void pruneHistory_forgetsOldAuditsAndScrubReports_keepsTheScore(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      HolderId h0 = new HolderId("h0");
      for (int i = 0; i < 5; i++) {
        c.recordAudit(h0, "ab".repeat(32), i != 2, "block", 1000L * i);
      }
      c.recordScrubReport(h0, "cd".repeat(32), 1500);
      AuditScore score = c.holder(h0).orElseThrow().audit();
      assertEquals(List.of(true, true, false, true, true), c.auditResults(h0));
      assertEquals(4, c.registry().pruneHistory(2500), "audits at 0, 1000, 2000 and the report at 1500");
      assertEquals(List.of(true, true), c.auditResults(h0));
      assertEquals(score, c.holder(h0).orElseThrow().audit(), "the score is not history");
      assertEquals(0, c.registry().pruneHistory(2500));
    }
  }

  /** Several coordinators on one catalog: every reputation update lands (one statement each, no read-modify-write). */
  @ParameterizedTest
  @MethodSource("backends")
  void audits_concurrentUpdatesFromSeveralCatalogsAreNotLost(String backend) throws Exception {
    String url = freshUrl(backend);
    try (Catalog a = Catalog.open(url); Catalog b = Catalog.open(url)) {
      register(a, "h0", "http://h0", 1);
      int each = 60;
      var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
      List<java.util.concurrent.Future<?>> work = new java.util.ArrayList<>();
      for (Catalog c : List.of(a, b)) {
        for (int t = 0; t < 2; t++) {
          work.add(pool.submit(() -> {
            for (int i = 0; i < each; i++) {
              c.recordAudit(new HolderId("h0"), "cd".repeat(32), true, "ok", 5);
            }
            return null;
          }));
        }
      }
      for (var f : work) {
        f.get();
      }
      pool.shutdown();
      assertEquals(4 * each, a.holder(new HolderId("h0")).orElseThrow().auditsPassed());
      double alpha = AuditScore.NEW.alpha();
      for (int i = 0; i < 4 * each; i++) {
        alpha = alpha * AuditScore.FORGET + 1;
      }
      assertEquals(alpha, a.holder(new HolderId("h0")).orElseThrow().audit().alpha(), 1e-6);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void acceptMessage_onlyNewerTimestamps(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      register(c, "h0", "http://h0", 1);
      assertTrue(c.acceptMessage(new HolderId("h0"), 50));
      assertTrue(!c.acceptMessage(new HolderId("h0"), 50), "replay");
      assertTrue(!c.acceptMessage(new HolderId("h0"), 49), "older");
      assertTrue(!c.acceptMessage(new HolderId("nobody"), 99), "unknown holder");
    }
  }

  /** Registers a holder with a distinct network, as the coordinator would after a signed registration. */
  @ParameterizedTest
  @MethodSource("backends")
  void restorePacks_inOneTransaction_restoreEachAsOneAtATime_andAgainChangeNothing(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://127.0.0.1:" + (7000 + h), 1000);
      }
      List<PackRecords.Restored> batch = new ArrayList<>();
      for (int p = 0; p < 2; p++) {
        Manifest m = manifest(2 + p, 10 + p);
        // Index 0 on two holders, 1 on none, the others on one each.
        Map<Integer, List<HolderId>> byIndex = Map.of(0, List.of(new HolderId("h0"), new HolderId("h1")),
            2, List.of(new HolderId("h2")), 3, List.of(new HolderId("h3")), 4, List.of(new HolderId("h4")));
        batch.add(new PackRecords.Restored(ManifestCodec.packId(m), m, "{\"signed\":" + p + "}", byIndex,
            Optional.of(new Catalog.DocumentCopies("d".repeat(63) + p, List.of(new HolderId("h" + p))))));
      }
      for (int round = 0; round < 2; round++) {
        c.restorePacks(batch, FragmentState.UNVERIFIED, 2000);
        for (PackRecords.Restored r : batch) {
          List<FragmentPlacement> rows = c.placements(r.packId());
          assertEquals(5, rows.size(), "round " + round);
          assertTrue(rows.stream().allMatch(f -> f.state() == FragmentState.UNVERIFIED));
          assertEquals(List.of(0, 0, 2, 3, 4), rows.stream().map(FragmentPlacement::fragmentIndex).sorted().toList());
          for (Manifest.Nar nar : r.manifest().nars()) {
            assertEquals(r.packId(), c.narByFileKey(nar.key()).orElseThrow().packId());
          }
          assertEquals(r.signedManifest(), c.signedManifest(r.packId()).orElseThrow());
        }
        assertEquals(2 + 3, c.journal().totals(Journal.State.COMMITTED).objects(), "round " + round);
        assertEquals(1, c.documents().storedDocumentCopies(new HolderId("h1")));
      }
    }
  }

  static void register(Catalog c, String id, String endpoint, long nowMillis) throws CatalogException {
    c.registerHolder(HolderRecord.registering(new HolderId(id), endpoint, "k:" + id, 1L << 30, 0, 0, "v", "", "", nowMillis,
        "192.0." + Math.floorMod(id.hashCode(), 250) + ".1"), 0);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void addAlias_indexesAnotherStorePathAtTheSamePlace(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://h" + h, 1);
      }
      Manifest m = manifest(1, 5);
      PackId packId = ManifestCodec.packId(m);
      c.recordPack(packId, m, "{}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")), 1);
      ArchivedNar existing = c.narByFileKey(m.nars().getFirst().key()).orElseThrow();
      assertTrue(c.addAlias("00000000000000000000000000000000", existing, "StorePath: x\n", 9));
      assertTrue(!c.addAlias("00000000000000000000000000000000", existing, "StorePath: x\n", 9), "once");
      ArchivedNar alias = c.narByStoreHash("00000000000000000000000000000000").orElseThrow();
      assertEquals(existing.packOffset(), alias.packOffset());
      assertEquals(existing.fileKey(), alias.fileKey());
      assertEquals(2, c.totals()[1]);
    }
  }

  @org.junit.jupiter.api.Test
  void postgres_connectionsDroppedByTheServer_areReplaced() throws Exception {
    String pg = System.getenv("NARVAULT_TEST_POSTGRES_URL");
    org.junit.jupiter.api.Assumptions.assumeTrue(pg != null && !pg.isBlank(), "no PostgreSQL (.ci/run starts one)");
    String url = freshUrl(pg);
    try (Catalog c = Catalog.open(url)) {
      register(c, "h0", "http://h0", 1);
      assertEquals(1, c.holders().size());
      // Several pooled connections used just now (the pool does not re-check those before handing
      // them out), so that after the cut more than one dead connection is met in a row.
      try (var callers = java.util.concurrent.Executors.newFixedThreadPool(8)) {
        var calls = new java.util.ArrayList<java.util.concurrent.Future<Integer>>();
        for (int i = 0; i < 64; i++) {
          calls.add(callers.submit(() -> c.holders().size()));
        }
        for (var call : calls) {
          assertEquals(1, call.get());
        }
      }
      // What a database restart does to the pool: every connection of ours is cut.
      try (Connection admin = DriverManager.getConnection(pg); Statement s = admin.createStatement()) {
        s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            + "AND pid <> pg_backend_pid() AND application_name <> 'psql'");
      }
      assertEquals(1, c.holders().size(), "the next call gets a fresh connection");
      register(c, "h1", "http://h1", 2);
      assertEquals(2, c.holders().size());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void catalog_servesConcurrentCallers(String backend) throws Exception {
    try (Catalog c = Catalog.open(freshUrl(backend))) {
      Manifest m = manifest(3, 21);
      for (int h = 0; h < 5; h++) {
        register(c, "h" + h, "http://h" + h, 1);
      }
      c.recordPack(ManifestCodec.packId(m), m, "{}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"), new HolderId("h3"), new HolderId("h4")), 1);
      String hash = m.nars().getFirst().parsedNarInfo().storePath().hashPart();
      try (java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
        List<java.util.concurrent.Future<Boolean>> reads = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          reads.add(pool.submit(() -> c.narByStoreHash(hash).isPresent() && c.placements(
              ManifestCodec.packId(m)).size() == 5));
        }
        for (var r : reads) {
          assertTrue(r.get());
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void open_refusesASchemaNewerThanThisNarvault(String backend) throws Exception {
    String url = freshUrl(backend);
    try (Catalog c = Catalog.open(url)) {
      assertEquals(Schema.MIGRATIONS.size(), c.schemaVersion());
    }
    try (Connection conn = DriverManager.getConnection(url); Statement s = conn.createStatement()) {
      s.execute("INSERT INTO narvault_schema (version) VALUES (99)");
    }
    CatalogException e = assertThrows(CatalogException.class, () -> Catalog.open(url));
    assertTrue(e.getMessage().contains("newer"), e.getMessage());
  }
}
