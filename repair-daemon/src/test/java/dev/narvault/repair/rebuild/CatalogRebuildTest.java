package dev.narvault.repair.rebuild;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A catalog rebuilt from holders' listings trusts no listing: copies are restored unverified, and
 * a holder claiming many fragments of a pack gets one row of it. Listings are paged, and no holder
 * can make the rebuild loop, count an id twice, hide a document or grow the work without bound.
 * It agrees with the rebuild that kept everything in memory.
 */
class CatalogRebuildTest {
  @TempDir
  Path dir;

  private final NixSecretKey archiveKey = NixSecretKey.generate("test-archive-1", new SecureRandom());
  private final ByteArrayOutputStream report = new ByteArrayOutputStream();
  private FakeHolders holders;
  private TestPacks.Pack pack;
  private int catalogs;

  @BeforeEach
  void pack() throws Exception {
    holders = new FakeHolders();
    pack = TestPacks.pack(new Random(7), 3, 2, new int[] {700, 700}, archiveKey);
    holders.holds("h0", pack.documentId(), pack.document());
  }

  @AfterEach
  void stop() {
    holders.close();
  }

  private String fragment(int index) {
    return pack.fragmentId(index);
  }

  private static List<HolderRecord> records(List<String> names, java.util.function.Function<String, String> endpoint) {
    List<HolderRecord> records = new ArrayList<>();
    int n = 0;
    for (String h : names) {
      records.add(HolderRecord.registering(new HolderId(h), endpoint.apply(h), "k:" + h, 1L << 30, 0, 0, "v", "", "",
          1, "198.51." + n++ + ".1"));
    }
    return records;
  }

  /** A rebuild of the fake holders into a new catalog; returns the result and keeps the catalog's path. */
  private Rebuilt rebuild(List<String> holderIds, UnaryOperator<CatalogRebuild.Options> options) throws Exception {
    return rebuild(records(holderIds, holders::endpoint), options, InstantSource.fixed(Instant.ofEpochMilli(1000)));
  }

  private Rebuilt rebuild(List<String> holderIds) throws Exception {
    return rebuild(holderIds, UnaryOperator.identity());
  }

  record Rebuilt(CatalogRebuild.Result result, Path catalog) {}

  private Rebuilt rebuild(List<HolderRecord> records, UnaryOperator<CatalogRebuild.Options> options,
      InstantSource clock) throws Exception {
    Path db = dir.resolve("rebuilt-" + catalogs++ + ".db");
    try (Catalog target = Catalog.open("jdbc:sqlite:" + db)) {
      PrintStream out = new PrintStream(report, true, StandardCharsets.UTF_8);
      CatalogRebuild.Result result = new CatalogRebuild(target, new HolderClient(Duration.ofSeconds(5)),
          TrustedKeys.of(archiveKey.publicKey()), out, out, clock,
          options.apply(CatalogRebuild.Options.defaults(dir.resolve("work")))).run(records);
      return new Rebuilt(result, db);
    }
  }

  private static List<FragmentPlacement> placements(Rebuilt r, PackId packId) throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + r.catalog())) {
      return c.placements(packId);
    }
  }

  private static Map<String, List<Integer>> indexesByHolder(List<FragmentPlacement> rows) {
    Map<String, List<Integer>> by = new TreeMap<>();
    rows.forEach(p -> by.computeIfAbsent(p.holderId().value(), h -> new ArrayList<>()).add(p.fragmentIndex()));
    return by;
  }

  private String printed() {
    return report.toString(StandardCharsets.UTF_8);
  }

  @Test
  void run_restoresEveryCopyUnverified_andAHolderListingEveryFragmentGetsOneRow() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("liar", fragment(i));
    }
    List<FragmentPlacement> rows = placements(rebuild(List.of("h0", "h1", "h2", "h3", "h4", "liar")), pack.packId());
    assertTrue(rows.stream().allMatch(p -> p.state() == FragmentState.UNVERIFIED), rows.toString());
    Map<String, List<Integer>> by = indexesByHolder(rows);
    for (int i = 0; i < 5; i++) {
      assertEquals(List.of(i), by.get("h" + i));
    }
    assertEquals(List.of(0), by.get("liar"), "no index is the liar's alone: the lowest");
    assertTrue(printed().contains("holder liar lists 5 of its fragments; recorded index 0 only, ignored [1, 2, 3, 4]"),
        printed());
  }

  @Test
  void run_aHolderListingSeveralFragments_keepsTheLowestItAloneLists() throws Exception {
    for (int i = 0; i < 3; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // "many" claims 1 (h1 lists it too), 3 ("other" lists it too) and 4 (nobody else does).
    for (int i : new int[] {1, 3, 4}) {
      holders.lists("many", fragment(i));
    }
    holders.lists("other", fragment(3));
    Map<String, List<Integer>> by = indexesByHolder(placements(rebuild(List.of("h0", "h1", "h2", "many", "other")),
        pack.packId()));
    assertEquals(List.of(4), by.get("many"));
    assertEquals(List.of(3), by.get("other"));
    assertEquals(List.of(1), by.get("h1"));
    assertTrue(printed().contains("holder many lists 3 of its fragments; recorded index 4 only, ignored [1, 3]"),
        printed());
  }

  @Test
  void run_aHolderWithMoreIdsThanAPage_isListedWhole() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h0", fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("h1", fragment(i));
    }
    // h0: 6 ids in pages of 2 (the last page full: "more" until an empty page); h1: 5 ids.
    Rebuilt r = rebuild(List.of("h0", "h1"), o -> o.withPageSize(2));
    assertEquals(11, r.result().fragmentsListed());
    assertEquals(1, r.result().packs());
    assertEquals(3, holders.holder("h0").pages.get(), "pages of 2, 2 and 2 (the last says there is no more)");
    assertEquals(3, holders.holder("h1").pages.get());
    Map<String, List<Integer>> by = indexesByHolder(placements(r, pack.packId()));
    assertEquals(List.of(0), by.get("h0"), "one row per holder per pack, whatever the pages");
    assertEquals(List.of(0), by.get("h1"));
  }

  @Test
  void run_idsAddedAndRemovedBetweenPages_areEachListedOnce_andTheListingEnds() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    List<String> sorted = new ArrayList<>(holders.holder("h0").listed);
    FakeHolders.Holder h0 = holders.holder("h0");
    // h0 holds the manifest and fragment 0: after the first page (one id), the first id is removed,
    // one id sorting before the cursor and one after it are added.
    String before = "0".repeat(64);
    String after = "f".repeat(64);
    h0.afterPage = page -> {
      if (page == 0) {
        h0.listed.remove(sorted.getFirst());
        h0.listed.add(before);
        h0.listed.add(after);
      }
    };
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4"), o -> o.withPageSize(1));
    // h0 listed: its first id (page 1), then its second and "after"; never "before" (behind the cursor).
    assertEquals(3 + 4, r.result().fragmentsListed(), printed());
    assertEquals(1, r.result().packs(), printed());
    assertTrue(printed().contains("holder h0 (" + holders.endpoint("h0") + "): 3 fragments"), printed());
  }

  @Test
  void run_aHolderIgnoringTheCursor_isListedOnce_andStopped() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("loop", fragment(i));
    }
    holders.holder("loop").ignoresCursor = true;
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4", "loop"), o -> o.withPageSize(2));
    // Its first page, then the same page again: nothing new, so the listing ends there.
    assertEquals(6 + 2, r.result().fragmentsListed(), printed());
    assertEquals(2, holders.holder("loop").pages.get());
    assertTrue(printed().contains("2 ids out of order or repeated, ignored; a page after "), printed());
    assertTrue(printed().contains("listed nothing new: stopped there"), printed());
    assertEquals(1, indexesByHolder(placements(r, pack.packId())).get("loop").size());
  }

  @Test
  void run_aHolderListingOutOfOrderOrTwice_countsEachIdOnce() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    List<String> ids = new ArrayList<>(List.of(fragment(3), fragment(1), fragment(1), fragment(4), fragment(3)));
    holders.holder("mess").generated = (after, limit) -> after.isEmpty()
        ? new HolderMessages.Listing(ids, false) : new HolderMessages.Listing(List.of(), false);
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4", "mess"));
    long increasing = Stream.iterate(0, i -> i + 1).limit(ids.size())
        .filter(i -> ids.subList(0, i).stream().allMatch(x -> x.compareTo(ids.get(i)) < 0)).count();
    assertEquals(6 + increasing, r.result().fragmentsListed(), printed());
    assertTrue(printed().contains((ids.size() - increasing) + " ids out of order or repeated, ignored"), printed());
  }

  @Test
  void run_aHolderListingAMalformedId_keepsWhatItListedBefore() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("junk", fragment(i));
    }
    holders.holder("junk").junkAfterFirstPage = true;
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4", "junk"), o -> o.withPageSize(2));
    assertEquals(6 + 2, r.result().fragmentsListed(), printed());
    assertTrue(printed().contains("could not be listed fully"), printed());
    assertEquals(1, r.result().packs());
    assertEquals(0, r.result().packsIncomplete());
  }

  @Test
  void run_aHolderListingMillionsOfIdsItDoesNotHave_isCutAtTheLimit_andAskedLittle() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // Made-up ids in order, without end.
    holders.holder("huge").generated = (after, limit) -> {
      long from = after.isEmpty() ? 0 : Long.parseUnsignedLong(after.substring(48), 16) + 1;
      List<String> ids = new ArrayList<>();
      for (long i = from; i < from + limit; i++) {
        ids.add("ee" + "0".repeat(46) + String.format("%016x", i));
      }
      return new HolderMessages.Listing(ids, true);
    };
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4", "huge"),
        o -> o.withMaxListedPerHolder(25_000).withSortMemory(1 << 20));
    assertEquals(6 + 25_000, r.result().fragmentsListed(), printed());
    assertTrue(printed().contains("listing cut at 25,000 ids"), printed());
    int asked = holders.holder("huge").asked.get();
    int readers = CatalogRebuild.Options.defaults(dir).readers();
    assertTrue(asked <= DocumentFinder.MAX_FAILED_READS + readers, "asked about " + asked + " ids, then given up "
        + "(those in flight at the time aside)");
    assertTrue(printed().matches("(?s).*holder huge: [0-9]+ reads failed \\(against 0 answered\\): not asked again.*"),
        printed());
    assertEquals(25_000, r.result().idsUnread(), "the ids nobody answered for are counted");
    assertTrue(r.result().toString().contains("could not be read from any holder"), r.result().toString());
    assertEquals(1, r.result().packs());
    assertEquals(0, r.result().packsIncomplete());
  }

  @Test
  void run_aHolderHidingADocument_cannotHideIt() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // Asked first, it says the manifest is an ordinary fragment.
    holders.lists("hider", pack.documentId());
    holders.holder("hider").lies.put(pack.documentId(), "not a document at all".getBytes(StandardCharsets.UTF_8));
    Rebuilt r = rebuild(List.of("hider", "h0", "h1", "h2", "h3", "h4"));
    assertEquals(1, r.result().packs(), printed());
    assertEquals(0, r.result().idsUnread());
  }

  @Test
  void run_aHolderServingOtherBytesForADocument_isNotAskedAgain() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // Looks like a manifest, is 10 MiB, and is not the bytes of the id.
    byte[] fake = new byte[10 << 20];
    byte[] start = "{\"manifest\":{\"code\":".getBytes(StandardCharsets.UTF_8);
    System.arraycopy(start, 0, fake, 0, start.length);
    FakeHolders.Holder forger = holders.holder("forger");
    for (int i = 0; i < 5; i++) {
      holders.lists("forger", fragment(i));
      forger.lies.put(fragment(i), fake);
    }
    holders.lists("forger", pack.documentId());
    forger.lies.put(pack.documentId(), fake);
    // One reader: what it asks after the first lie shows (several readers may have asked already).
    Rebuilt r = rebuild(List.of("forger", "h0", "h1", "h2", "h3", "h4"), o -> o.withReaders(1));
    assertEquals(1, r.result().packs(), printed());
    assertEquals(3, forger.asked.get(), "its first bytes, its size, all of it: then never again");
    assertTrue(printed().contains("holder forger served bytes for "), printed());
    assertEquals(List.of(0), indexesByHolder(placements(r, pack.packId())).get("forger"),
        "its listing still says where to look, unverified");
  }

  @Test
  void run_aDocumentSignedByAnotherKey_isIgnored() throws Exception {
    NixSecretKey other = NixSecretKey.generate("not-the-archive-1", new SecureRandom());
    TestPacks.Pack forged = TestPacks.pack(new Random(8), 3, 2, new int[] {300}, other);
    holders.holds("h1", forged.documentId(), forged.document());
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
      holders.lists("h" + i, forged.fragmentId(i));
    }
    Rebuilt r = rebuild(List.of("h0", "h1", "h2", "h3", "h4"));
    assertEquals(1, r.result().packs());
    assertTrue(printed().contains("ignored document " + forged.documentId()), printed());
    assertTrue(placements(r, forged.packId()).isEmpty());
  }

  @Test
  void run_realHolders_inSmallPages_withFragmentsShorterThanADocumentsStart() throws Exception {
    NixSecretKey coordinatorKey = NixSecretKey.generate("coordinator-1", new SecureRandom());
    // A pack of 20 bytes in RS(3,2): fragments of 7 bytes, shorter than the 16 a document is told by.
    TestPacks.Pack tiny = TestPacks.pack(new Random(9), 3, 2, new int[] {20}, archiveKey);
    assertTrue(tiny.fragments().getFirst().length < 16);
    List<HolderServer> servers = new ArrayList<>();
    try {
      for (int h = 0; h < 5; h++) {
        HolderConfig config = HolderConfig.of(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0),
            dir.resolve("holder-" + h), 1L << 30, coordinatorKey.publicKey());
        DiskFragmentStore store = DiskFragmentStore.open(config.dataDir(), config.capacityBytes());
        for (TestPacks.Pack p : List.of(pack, tiny)) {
          put(store, p.fragmentId(h), p.fragments().get(h), 512);
          if (h < 3) {
            put(store, p.documentId(), p.document(), PackLayout.DEFAULT_BLOCK_SIZE);
          }
        }
        servers.add(HolderServer.start(config, store, InstantSource.system()));
      }
      List<String> names = List.of("r0", "r1", "r2", "r3", "r4");
      Rebuilt r = rebuild(records(names, n -> servers.get(names.indexOf(n)).endpoint().toString()),
          o -> o.withPageSize(3), InstantSource.fixed(Instant.ofEpochMilli(1000)));
      assertEquals(2, r.result().packs(), printed());
      assertEquals(16, r.result().fragmentsListed(), "5 × 2 fragments and 3 × 2 documents");
      assertEquals(0, r.result().idsUnread(), "a short fragment is simply not a document");
      assertEquals(0, r.result().packsIncomplete());
      for (TestPacks.Pack p : List.of(pack, tiny)) {
        Map<String, List<Integer>> by = indexesByHolder(placements(r, p.packId()));
        for (int i = 0; i < 5; i++) {
          assertEquals(List.of(i), by.get("r" + i), by.toString());
        }
      }
    } finally {
      servers.forEach(HolderServer::close);
    }
  }

  private static void put(FragmentStore store, String id, byte[] bytes, int blockSize) throws Exception {
    try (FragmentStore.Upload u = store.begin(new FragmentId(id), bytes.length, blockSize)) {
      u.write(ByteBuffer.wrap(bytes));
      u.commit();
    }
  }

  /**
   * Random archives on random holders, some fragments missing, liars listing what they do not
   * have, aliases, pages of random sizes: the streaming rebuild's catalog is, table by table, the
   * one the rebuild that kept everything in memory makes (the liars come last: that one asked only
   * the first holder listing a document, and a liar asked first hid it).
   */
  @Test
  void run_agreesWithTheInMemoryRebuild() throws Exception {
    long seed = new SecureRandom().nextLong();
    System.out.println("CatalogRebuildTest seed: " + seed);
    Random random = new Random(seed);
    for (int round = 0; round < 3; round++) {
      holders.close();
      holders = new FakeHolders();
      List<String> names = new ArrayList<>();
      for (int h = 0; h < 7; h++) {
        names.add("honest" + h);
      }
      names.add("liar0");
      names.add("liar1");
      List<TestPacks.Pack> packs = new ArrayList<>();
      for (int p = 0; p < 12; p++) {
        int[] sizes = random.ints(1 + random.nextInt(3), 1, 900).toArray();
        TestPacks.Pack pk = TestPacks.pack(random, 3, 2, sizes, archiveKey);
        packs.add(pk);
        List<String> order = new ArrayList<>(names.subList(0, 7));
        java.util.Collections.shuffle(order, random);
        for (int i = 0; i < 5; i++) {
          if (random.nextInt(6) > 0) {
            holders.holds(order.get(i), pk.fragmentId(i), pk.fragments().get(i));
          }
        }
        for (int c = 0; c < 3; c++) {
          if (random.nextInt(8) > 0) {
            holders.holds(order.get(random.nextInt(7)), pk.documentId(), pk.document());
          }
        }
        if (random.nextBoolean()) {
          byte[] alias = TestPacks.alias(pk, 0, "twin" + p, archiveKey);
          holders.holds(order.get(random.nextInt(7)), dev.narvault.core.coordinator.DocumentPlacer.idOf(alias).hex(),
              alias);
        }
        for (int i = 0; i < 5; i++) {
          if (random.nextInt(3) == 0) {
            holders.lists(names.get(7 + random.nextInt(2)), pk.fragmentId(i));
          }
        }
        if (random.nextInt(4) == 0) {
          holders.lists("liar0", pk.documentId());
        }
      }
      int page = 1 + random.nextInt(7);
      Rebuilt streaming = rebuild(records(names, holders::endpoint), o -> o.withPageSize(page).withReaders(
          1 + random.nextInt(8)), InstantSource.fixed(Instant.ofEpochMilli(1000)));
      Path reference = dir.resolve("reference-" + round + ".db");
      InMemoryRebuild.Result expected;
      try (Catalog target = Catalog.open("jdbc:sqlite:" + reference)) {
        expected = new InMemoryRebuild(target, new HolderClient(Duration.ofSeconds(5)),
            TrustedKeys.of(archiveKey.publicKey()), new PrintStream(OutputStream.nullOutputStream()),
            InstantSource.fixed(Instant.ofEpochMilli(1000))).run(records(names, holders::endpoint));
      }
      CatalogRebuild.Result got = streaming.result();
      // The same counts (the streaming one also counts the ids nobody answered for: liars' alone).
      assertEquals(expected.toString(), new CatalogRebuild.Result(got.holders(), got.fragmentsListed(), got.packs(),
          got.nars(), got.aliases(), got.packsIncomplete(), 0).toString(), "seed " + seed + ", round " + round);
      assertEquals(dump(reference), dump(streaming.catalog()), "seed " + seed + ", round " + round);
      assertTrue(expected.packs() > 0);
    }
  }

  @Test
  void run_again_restoresNothingTwice_andLeavesNoWorkFiles() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    byte[] alias = TestPacks.alias(pack, 1, "twin", archiveKey);
    holders.holds("h2", dev.narvault.core.coordinator.DocumentPlacer.idOf(alias).hex(), alias);
    List<HolderRecord> records = records(List.of("h0", "h1", "h2", "h3", "h4"), holders::endpoint);
    InstantSource clock = InstantSource.fixed(Instant.ofEpochMilli(1000));
    Rebuilt first = rebuild(records, UnaryOperator.identity(), clock);
    assertEquals(1, first.result().aliases());
    String once = dump(first.catalog());
    try (Catalog target = Catalog.open("jdbc:sqlite:" + first.catalog())) {
      PrintStream out = new PrintStream(report, true, StandardCharsets.UTF_8);
      CatalogRebuild.Result again = new CatalogRebuild(target, new HolderClient(Duration.ofSeconds(5)),
          TrustedKeys.of(archiveKey.publicKey()), out, out, clock,
          CatalogRebuild.Options.defaults(dir.resolve("work"))).run(records);
      assertEquals(0, again.aliases(), "the alias is there already");
    }
    assertEquals(once, dump(first.catalog()));
    try (Stream<Path> left = Files.list(dir.resolve("work"))) {
      assertEquals(List.of(), left.toList(), "every work file deleted");
    }
  }

  @Test
  void run_printsAProgressLine_everyFewSeconds() throws Exception {
    for (int i = 0; i < 5; i++) {
      holders.holds("h" + i, fragment(i), ("fragment " + i).getBytes(StandardCharsets.UTF_8));
    }
    // Each look at the clock is a second later.
    AtomicLong seconds = new AtomicLong();
    InstantSource ticking = () -> Instant.ofEpochSecond(seconds.incrementAndGet());
    rebuild(records(List.of("h0", "h1", "h2", "h3", "h4"), holders::endpoint), UnaryOperator.identity(), ticking);
    String out = printed();
    assertTrue(out.contains("progress: "), out);
    assertTrue(out.matches("(?s).*progress: [a-z ]+; 5 of 5 holders listed, 6 fragments listed; [0-9]+ ids read.*"),
        out);
    assertTrue(out.contains("restored 1 packs in "), out);
  }

  /** Every table a rebuild writes, row by row in order, times included. */
  static String dump(Path db) throws Exception {
    StringBuilder b = new StringBuilder();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement()) {
      for (String table : List.of("holders", "packs", "fragments", "nars", "journal", "journal_totals", "documents",
          "document_copies")) {
        try (ResultSet rs = s.executeQuery("SELECT * FROM " + table)) {
          int columns = rs.getMetaData().getColumnCount();
          List<String> rows = new ArrayList<>();
          while (rs.next()) {
            StringBuilder row = new StringBuilder(table).append(':');
            for (int i = 1; i <= columns; i++) {
              row.append(' ').append(rs.getMetaData().getColumnName(i)).append('=').append(rs.getString(i));
            }
            rows.add(row.toString());
          }
          rows.sort(null);
          rows.forEach(r -> b.append(r).append('\n'));
        }
      }
    }
    return b.toString();
  }

  @Test
  void options_badValues_areRefusedWithTheValue() {
    Path work = dir.resolve("work");
    for (UnaryOperator<CatalogRebuild.Options> bad : List.<UnaryOperator<CatalogRebuild.Options>>of(
        o -> o.withReaders(0), o -> o.withPageSize(10_001), o -> o.withSortMemory(1000),
        o -> o.withMaxListedPerHolder(0))) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> bad.apply(CatalogRebuild.Options.defaults(work)));
      assertFalse(e.getMessage().isEmpty());
      assertTrue(e.getMessage().matches(".*got [0-9]+"), e.getMessage());
    }
  }
}
