package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.BlockHashes;
import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault bench catalog}: fills a catalog with a synthetic archive of N NARs, in RS(40,40)
 * packs of realistic sizes, with holders, fragment rows, journal entries in every state and audit
 * history, then times the catalog's hot operations on it. What grows with N and what does not is
 * the question: run it at several N.
 */
@Command(name = "catalog", mixinStandardHelpOptions = true,
    header = "Measure the catalog's hot operations on a synthetic archive of N NARs.",
    description = {"Fills a catalog (SQLite in a temporary directory by default, or the PostgreSQL database named "
            + "by --catalog, in a schema of its own that is dropped afterwards) with N synthetic NARs: sizes drawn "
            + "around a mean of 2 MiB, packed into packs of up to 64 MiB, each pack RS(40,40) on 80 of the holders, "
            + "with its signed manifest (real block hashes of random fragments' sizes), journal entries in every "
            + "state, a share of fragment rows superseded or corrupt, and audit history. Then it times the "
            + "operations the servers run all the time: narinfo and NAR lookups (p50, p99), the repair round's "
            + "candidate query and the rows it reads, one garbage collection query, one drain page of 1000 "
            + "journal entries, the journal and archive totals, the bytes counted per holder, and reports the "
            + "insert rate and the bytes on disk per NAR.",
        "",
        "Costs that stay flat as N grows are what a 10^9-object archive needs; the results for several N are in "
            + "docs/performance.md with the commands that reproduce them.",
        ""})
final class BenchCatalogCommand implements Callable<Integer> {
  private static final int DATA = 40;
  private static final int PARITY = 40;
  private static final int BLOCK = 65_536;
  private static final long PACK_BYTES = 64L << 20;
  private static final long MEAN_NAR = 2L << 20;

  @Option(names = "--nars", defaultValue = "100000", description = "NARs to fill the catalog with (default: "
      + "${DEFAULT-VALUE}).")
  long nars;

  @Option(names = "--holders", defaultValue = "400", description = "Holders the packs are spread over (at least 80; "
      + "default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--catalog", paramLabel = "JDBC-URL", description = "A PostgreSQL database to measure "
      + "(jdbc:postgresql://…); the bench creates a schema of its own there and drops it at the end. Default: SQLite "
      + "in a temporary directory.")
  String catalogUrl;

  @Option(names = "--samples", defaultValue = "2000", description = "Lookups timed for each percentile (default: "
      + "${DEFAULT-VALUE}).")
  int samples;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--tsv", description = "One line per figure: name, a tab, the value, a tab, the unit.")
  boolean tsv;

  private final PrintStream out;

  BenchCatalogCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    if (nars < 1 || nars > 2_000_000_000L) {
      throw new IllegalArgumentException("--nars must be between 1 and 2e9, got " + nars);
    }
    if (holders < DATA + PARITY) {
      throw new IllegalArgumentException("--holders must be at least " + (DATA + PARITY) + " for RS(40,40), got "
          + holders);
    }
    if (samples < 100) {
      throw new IllegalArgumentException("--samples must be at least 100, got " + samples);
    }
    try (BenchDatabase db = BenchDatabase.create("narvault-bench-catalog-", catalogUrl)) {
      print(run(db.url, db.scratch, db.schema));
    }
    return 0;
  }

  private List<BenchFigure> run(String url, Path scratch, String schema) throws Exception {
    List<BenchFigure> figures = new ArrayList<>();
    SplittableRandom random = new SplittableRandom(seed);
    NixSecretKey key = NixSecretKey.generate("bench-archive-1", new SecureRandom());
    try (Catalog catalog = Catalog.open(url)) {
      List<HolderId> holderIds = registerHolders(catalog);
      List<String> storeHashes = new ArrayList<>();
      List<String> fileKeys = new ArrayList<>();
      long start = System.nanoTime();
      long filled = 0;
      long packs = 0;
      long lastReport = start;
      while (filled < nars) {
        List<Manifest.Nar> content = new ArrayList<>();
        long offset = 0;
        while (filled + content.size() < nars) {
          long size = Math.max(1024, Math.min(PACK_BYTES, (long) (-Math.log(1 - random.nextDouble()) * MEAN_NAR)));
          if (!content.isEmpty() && offset + size > PACK_BYTES) {
            break;
          }
          Manifest.Nar nar = nar(random, offset, size, storeHashes, fileKeys);
          content.add(nar);
          offset += size;
        }
        Manifest manifest = manifest(random, offset, content);
        PackId packId = ManifestCodec.packId(manifest);
        String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(manifest, key)), StandardCharsets.UTF_8);
        catalog.recordPack(packId, manifest, signed, pick(random, holderIds), System.currentTimeMillis());
        filled += content.size();
        packs++;
        if (!tsv && System.nanoTime() - lastReport > 10_000_000_000L) {
          lastReport = System.nanoTime();
          System.err.printf(Locale.ROOT, "  filled %,d of %,d NARs (%d packs)%n", filled, nars, packs);
        }
      }
      double fillSeconds = (System.nanoTime() - start) / 1e9;
      figures.add(new BenchFigure("insert-rate", filled / fillSeconds, "NARs/s", "NARs recorded per second (in packs)"));
      figures.add(new BenchFigure("packs", packs, "packs", "packs of up to 64 MiB, RS(40,40)"));
      spreadStates(url, schema, holderIds);

      figures.addAll(percentiles("narinfo-lookup", "narinfo by store hash", () -> catalog.narByStoreHash(
          storeHashes.get(random.nextInt(storeHashes.size())))));
      figures.addAll(percentiles("nar-lookup", "NAR by file key", () -> catalog.narByFileKey(
          fileKeys.get(random.nextInt(fileKeys.size())))));

      // A repair round: the packs that may be degraded (2 holders offline, plus rows not stored),
      // each one's shape and placements read, as the coordinator's queue does.
      List<HolderId> offline = holderIds.subList(0, 2);
      long t = System.nanoTime();
      List<PackId> candidates = catalog.custody().packsToCheck(offline);
      for (PackId p : candidates) {
        catalog.custody().shape(p);
        catalog.placements(p);
      }
      figures.add(new BenchFigure("repair-round", ms(t), "ms", "candidates of one repair round, each read ("
          + candidates.size() + " packs)"));
      figures.add(new BenchFigure("repair-round-packs", candidates.size(), "packs", "packs a repair round reads"));

      t = System.nanoTime();
      int garbage = catalog.custody().garbage(holderIds, System.currentTimeMillis(), 1000).size();
      figures.add(new BenchFigure("gc-round", ms(t), "ms", "one garbage-collection query, all holders (" + garbage
          + " copies found)"));

      t = System.nanoTime();
      int page = catalog.journal().inState(Journal.State.VERIFIED, "", 1000).size();
      figures.add(new BenchFigure("drain-page-1000", ms(t), "ms", "one drain page of journal entries (" + page + ")"));

      t = System.nanoTime();
      catalog.journal().totals(Journal.State.DRAINED);
      figures.add(new BenchFigure("journal-totals", ms(t), "ms", "objects and bytes drained (the archive totals)"));

      t = System.nanoTime();
      catalog.totals();
      figures.add(new BenchFigure("catalog-totals", ms(t), "ms", "packs, NARs, bytes"));

      t = System.nanoTime();
      catalog.custody().countedBytesByHolder();
      figures.add(new BenchFigure("counted-bytes", ms(t), "ms", "bytes the catalog counts on each holder (placement)"));
    }
    int scans = 0;
    for (String[] q : HOT_QUERIES) {
      List<String> plan = plan(url, schema != null, q[1]);
      // A whole table read: PostgreSQL's "Seq Scan"; SQLite's "SCAN t" not through an index.
      boolean scan = plan.stream().anyMatch(line -> schema != null ? line.contains("Seq Scan")
          : line.startsWith("SCAN ") && !line.contains(" USING "));
      scans += scan ? 1 : 0;
      if (!tsv) {
        System.err.printf(Locale.ROOT, "  plan of %s: %s%n", q[0], (scan ? "SCANS A TABLE: " : "by index: ")
            + String.join("; ", plan));
      }
    }
    figures.add(new BenchFigure("hot-queries-scanning", scans, "queries", "of " + HOT_QUERIES.length
        + " hot queries, those whose plan reads a whole table"));
    double bytes = schema == null ? Files.size(scratch.resolve("catalog.db")) : postgresBytes(url);
    figures.add(new BenchFigure("bytes-per-nar", bytes / nars, "B", "bytes on disk per NAR (tables and indexes)"));
    return figures;
  }

  private List<HolderId> registerHolders(Catalog catalog) throws CatalogException {
    List<HolderId> ids = new ArrayList<>();
    long now = System.currentTimeMillis();
    for (int i = 0; i < holders; i++) {
      HolderId id = new HolderId(String.format(Locale.ROOT, "bench%05d", i));
      catalog.registerHolder(HolderRecord.registering(id, "http://10." + (i / 250) + "." + (i % 250) + ".1:7070",
          "k:" + id.value(), 4L << 40, 0, 0, "bench", "", "", now, "10." + (i / 250) + "." + (i % 250) + ".1"), now);
      ids.add(id);
    }
    return ids;
  }

  static Manifest.Nar nar(SplittableRandom random, long offset, long size, List<String> storeHashes,
      List<String> fileKeys) {
    byte[] seedBytes = new byte[32];
    for (int i = 0; i < 32; i += 8) {
      long v = random.nextLong();
      for (int j = 0; j < 8; j++) {
        seedBytes[i + j] = (byte) (v >>> (8 * j));
      }
    }
    Sha256Hash fileHash = Sha256Hash.of(seedBytes);
    Sha256Hash narHash = Sha256Hash.of(fileHash.bytes());
    StorePath path = StorePath.makeSourcePath("bench-" + Long.toHexString(random.nextLong()), narHash, List.of());
    String key = "nar/" + fileHash.toNix32() + ".nar.xz";
    NarInfo info = NarInfo.create(path, key, "xz", fileHash, size, narHash, size * 3, List.of());
    storeHashes.add(path.hashPart());
    fileKeys.add(key);
    return new Manifest.Nar(key, offset, size, fileHash.toNixString(), info.text());
  }

  /** A manifest for a pack of {@code length} bytes: 80 fragments with random block hashes, ids derived from them. */
  private static Manifest manifest(SplittableRandom random, long length, List<Manifest.Nar> content) {
    PackLayout layout = PackLayout.of(DATA, PARITY, length, BLOCK);
    List<FragmentDigest> digests = new ArrayList<>();
    for (int i = 0; i < DATA + PARITY; i++) {
      byte[] hashes = new byte[layout.blockCount() * 32];
      for (int b = 0; b < hashes.length; b += 8) {
        long v = random.nextLong();
        for (int j = 0; j < 8; j++) {
          hashes[b + j] = (byte) (v >>> (8 * j));
        }
      }
      BlockHashes blockHashes = new BlockHashes(hashes);
      digests.add(new FragmentDigest(blockHashes.fragmentId(layout.fragmentSize(), BLOCK), layout.fragmentSize(),
          blockHashes));
    }
    return Manifest.of(layout, digests, content);
  }

  private static List<HolderId> pick(SplittableRandom random, List<HolderId> all) {
    int[] order = new int[all.size()];
    Arrays.setAll(order, i -> i);
    for (int i = 0; i < DATA + PARITY; i++) {
      int j = i + random.nextInt(order.length - i);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    List<HolderId> picked = new ArrayList<>();
    for (int i = 0; i < DATA + PARITY; i++) {
      picked.add(all.get(order[i]));
    }
    return picked;
  }

  /**
   * The states an archive in service has, set in bulk: 29/32 of the journal drained and 2/32
   * verified, 1/4096 of fragment rows superseded and 1/65536 corrupt, and 200 audits per holder.
   */
  private static void spreadStates(String url, String schema, List<HolderId> holderIds) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      if (schema != null) {
        // The bulk changes below must land in the bench's own schema, never in a catalog in use.
        try (ResultSet rs = s.executeQuery("SELECT current_schema()")) {
          if (!rs.next() || !schema.equals(rs.getString(1))) {
            throw new SQLException("the connection's schema is not the bench's own " + schema + ": refusing to "
                + "change anything");
          }
        }
      }
      // By the store hash's first character (nix32: 32 symbols): 29 of 32 drained, 2 verified.
      s.executeUpdate("UPDATE journal SET state = 'drained' WHERE substr(store_hash, 1, 1) < 'x'");
      s.executeUpdate("UPDATE journal SET state = 'verified' WHERE substr(store_hash, 1, 1) IN ('x', 'y')");
      s.executeUpdate("UPDATE fragments SET state = 'superseded' WHERE substr(fragment_id, 1, 3) = '000'");
      s.executeUpdate("UPDATE fragments SET state = 'corrupt' WHERE substr(fragment_id, 1, 4) = '0010'");
      c.setAutoCommit(false);
      try (var ps = c.prepareStatement("INSERT INTO audit_results (holder_id, fragment_id, at_millis, passed, detail) "
          + "VALUES (?, ?, ?, 1, 'block 3 matches')")) {
        long now = System.currentTimeMillis();
        for (HolderId h : holderIds) {
          for (int i = 0; i < 200; i++) {
            ps.setString(1, h.value());
            ps.setString(2, String.format(Locale.ROOT, "%064x", i));
            ps.setLong(3, now - i * 300_000L);
            ps.addBatch();
          }
          ps.executeBatch();
        }
      }
      c.commit();
      c.setAutoCommit(true);
      // Statistics, as the database's own upkeep (autovacuum) would have them after such changes.
      s.execute("ANALYZE");
    }
  }

  /** The queries the servers run all the time, with sample values: each must be answered by an index. */
  private static final String[][] HOT_QUERIES = {
      {"narinfo lookup", "SELECT narinfo FROM nars WHERE store_hash = 'abc'"},
      {"NAR lookup", "SELECT pack_id FROM nars WHERE file_key = 'nar/abc.nar.xz'"},
      {"a pack's placements", "SELECT fragment_index, holder_id, state FROM fragments WHERE pack_id = 'abc'"},
      {"packs of an unhealthy holder", "SELECT DISTINCT pack_id FROM fragments WHERE holder_id = 'bench00001'"},
      {"rows not stored", "SELECT DISTINCT pack_id FROM fragments WHERE state <> 'stored'"},
      {"a holder's garbage", "SELECT pack_id, fragment_index FROM fragments WHERE holder_id = 'bench00001' "
          + "AND state <> 'stored' AND pack_id >= '8' ORDER BY pack_id, fragment_index LIMIT 1000"},
      {"an audit's pick", "SELECT pack_id FROM fragments WHERE holder_id = 'bench00001' AND fragment_id >= '8' "
          + "AND state IN ('stored', 'unverified', 'superseded') ORDER BY fragment_id LIMIT 1"},
      {"a drain page", "SELECT store_hash FROM journal WHERE state = 'verified' AND file_key > 'nar/8' "
          + "ORDER BY file_key, store_hash LIMIT 1000"},
      {"a pack's journal", "SELECT store_hash FROM journal WHERE pack_id = 'abc' AND state = 'committed'"},
  };

  /** The query's plan, a line per step. */
  private static List<String> plan(String url, boolean postgres, String query) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery((postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + query)) {
      List<String> lines = new ArrayList<>();
      while (rs.next()) {
        lines.add(rs.getString(postgres ? 1 : 4).strip());
      }
      return lines;
    }
  }

  private static double postgresBytes(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            + "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")) {
      rs.next();
      return rs.getDouble(1);
    }
  }

  /** An operation timed {@code samples} times after a warm-up: p50 and p99 in milliseconds. */
  private List<BenchFigure> percentiles(String name, String what, Lookup lookup) throws CatalogException {
    for (int i = 0; i < Math.min(200, samples); i++) {
      lookup.run();
    }
    double[] ms = new double[samples];
    for (int i = 0; i < samples; i++) {
      long t = System.nanoTime();
      lookup.run();
      ms[i] = (System.nanoTime() - t) / 1e6;
    }
    return BenchFigure.percentiles(name, what, ms);
  }

  @FunctionalInterface
  private interface Lookup {
    void run() throws CatalogException;
  }

  private static double ms(long startNanos) {
    return (System.nanoTime() - startNanos) / 1e6;
  }

  private void print(List<BenchFigure> figures) {
    BenchFigure.print(out, tsv, String.format(Locale.ROOT, "catalog bench: %,d NARs, %d holders, RS(%d,%d), %s", nars,
        holders, DATA, PARITY, catalogUrl == null ? "SQLite" : "PostgreSQL"), figures);
  }



}
