package dev.narvault.core.catalog;

import dev.narvault.core.pack.Manifest;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The catalog over JDBC: {@code jdbc:sqlite:PATH} (embedded default) or
 * {@code jdbc:postgresql://...}. Opening it applies any missing schema migrations.
 *
 * <p>One connection, used under a lock: simple and correct for SQLite, whose writers serialise
 * anyway. Every multi-row change is one transaction, so a crash leaves all of it or none.
 */
public final class Catalog implements AutoCloseable {
  private final Jdbc db;
  private final Custody custody;
  private final Journal journal;
  private final HolderRegistry registry;
  private final PendingPacks pendingPacks;

  private Catalog(Jdbc db) {
    this.db = db;
    this.custody = new Custody(db);
    this.journal = new Journal(db);
    this.registry = new HolderRegistry(db);
    this.pendingPacks = new PendingPacks(db);
  }

  /** Packs being placed by a migrate worker and not committed yet, which garbage collection spares. */
  public PendingPacks pendingPacks() {
    return pendingPacks;
  }

  /** The holder registry: identities, heartbeats, proofs of reach, reputation. */
  public HolderRegistry registry() {
    return registry;
  }

  /** The migration journal: archived NARs on their way out of S3. */
  public Journal journal() {
    return journal;
  }

  /** Repair's part of the catalog: pack health, claims, placement orders, garbage. */
  public Custody custody() {
    return custody;
  }

  /** Opens (creating if needed) the catalog at a JDBC URL and brings its schema up to date. */
  public static Catalog open(String jdbcUrl) throws CatalogException {
    if (!jdbcUrl.startsWith("jdbc:sqlite:") && !jdbcUrl.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException(
          "catalog must be jdbc:sqlite:PATH or jdbc:postgresql://HOST/DB, got '" + Jdbc.redacted(jdbcUrl) + "'");
    }
    Jdbc db;
    try {
      db = new Jdbc(jdbcUrl);
    } catch (RuntimeException e) {
      throw new CatalogException("cannot open catalog " + Jdbc.redacted(jdbcUrl) + ": " + e.getMessage(), e);
    }
    Catalog catalog = new Catalog(db);
    try {
      db.locked(() -> {
        catalog.migrate();
        return null;
      });
    } catch (CatalogException e) {
      db.close();
      throw e;
    }
    return catalog;
  }

  /** The schema version now in the database. */
  public int schemaVersion() throws CatalogException {
    return db.locked(() -> {
      try (Statement s = db.connection().createStatement();
          ResultSet rs = s.executeQuery("SELECT MAX(version) FROM narvault_schema")) {
        return rs.next() ? rs.getInt(1) : 0;
      }
    });
  }

  private void migrate() throws SQLException {
    try (Statement s = db.connection().createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS narvault_schema (version INTEGER PRIMARY KEY)");
    }
    int current;
    try (Statement s = db.connection().createStatement();
        ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM narvault_schema")) {
      rs.next();
      current = rs.getInt(1);
    }
    if (current > Schema.MIGRATIONS.size()) {
      throw new SQLException("catalog schema version " + current + " is newer than this narvault ("
          + Schema.MIGRATIONS.size() + "): upgrade narvault");
    }
    for (int v = current + 1; v <= Schema.MIGRATIONS.size(); v++) {
      int version = v;
      db.inTransaction(() -> {
        try (Statement s = db.connection().createStatement()) {
          for (String sql : Schema.MIGRATIONS.get(version - 1).split(";")) {
            if (!sql.isBlank()) {
              s.execute(sql);
            }
          }
          s.execute("INSERT INTO narvault_schema (version) VALUES (" + version + ")");
        }
        return null;
      });
    }
  }

  /** True when the NAR of this store hash is already archived. */
  public boolean isArchived(String storeHash) throws CatalogException {
    return narByStoreHash(storeHash).isPresent();
  }

  /**
   * Records a placed pack in one transaction: the pack with its signed manifest, each fragment's
   * holder, and every NAR. A NAR some other pack already archived is skipped, not overwritten.
   *
   * @param holderIds the holder of each fragment, by fragment index
   */
  public void recordPack(String packId, Manifest manifest, String signedManifest, List<String> holderIds,
      long nowMillis) throws CatalogException {
    recordPack(packId, manifest, signedManifest, holderIds, Optional.empty(), nowMillis);
  }

  /** A placed manifest document: its id (as stored on holders) and the holders with a copy. */
  public record DocumentCopies(String docId, List<String> holders) {}

  /**
   * As above, also recording where copies of the signed manifest are stored on holders, in the
   * same transaction.
   */
  public void recordPack(String packId, Manifest manifest, String signedManifest, List<String> holderIds,
      Optional<DocumentCopies> manifestCopies, long nowMillis) throws CatalogException {
    if (holderIds.size() != manifest.fragments().size()) {
      throw new IllegalArgumentException("need one holder per fragment: " + holderIds.size() + " for "
          + manifest.fragments().size());
    }
    Map<Integer, List<String>> byIndex = new java.util.HashMap<>();
    for (int i = 0; i < holderIds.size(); i++) {
      byIndex.put(i, List.of(holderIds.get(i)));
    }
    restorePack(packId, manifest, signedManifest, byIndex, FragmentPlacement.STORED, manifestCopies, nowMillis);
  }

  /**
   * Records a pack whose fragments may be on any number of holders each (none, one, several): what
   * a rebuild from the holders finds. Otherwise as {@link #recordPack}.
   *
   * @param fragmentState the state of every fragment row recorded: {@link FragmentPlacement#STORED},
   *     or {@link FragmentPlacement#UNVERIFIED} for copies only a holder's listing vouches for
   *     (they count once they pass an audit)
   */
  public void restorePack(String packId, Manifest manifest, String signedManifest,
      Map<Integer, List<String>> holdersByIndex, String fragmentState, Optional<DocumentCopies> manifestCopies,
      long nowMillis) throws CatalogException {
    if (!fragmentState.equals(FragmentPlacement.STORED) && !fragmentState.equals(FragmentPlacement.UNVERIFIED)) {
      throw new IllegalArgumentException("a recorded fragment is stored or unverified, got '" + fragmentState + "'");
    }
    db.locked(() -> db.inTransaction(() -> {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "INSERT INTO packs (pack_id, data_fragments, parity_fragments, pack_length, signed_manifest, "
                + "created_millis) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pack_id) DO NOTHING")) {
          ps.setString(1, packId);
          ps.setInt(2, manifest.dataFragmentCount());
          ps.setInt(3, manifest.parityFragmentCount());
          ps.setLong(4, manifest.packLength());
          ps.setString(5, signedManifest);
          ps.setLong(6, nowMillis);
          ps.executeUpdate();
        }
        try (PreparedStatement ps = db.connection().prepareStatement(
            "INSERT INTO fragments (pack_id, fragment_index, fragment_id, holder_id, state) VALUES (?, ?, ?, ?, ?) "
                + "ON CONFLICT (pack_id, fragment_index, holder_id) DO NOTHING")) {
          for (Manifest.Fragment f : manifest.fragments()) {
            for (String holder : holdersByIndex.getOrDefault(f.index(), List.of())) {
              ps.setString(1, packId);
              ps.setInt(2, f.index());
              ps.setString(3, f.id().hex());
              ps.setString(4, holder);
              ps.setString(5, fragmentState);
              ps.addBatch();
            }
          }
          ps.executeBatch();
        }
        try (PreparedStatement ps = db.connection().prepareStatement(
            "INSERT INTO nars (store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
          for (Manifest.Nar nar : manifest.nars()) {
            ps.setString(1, nar.parsedNarInfo().storePath().hashPart());
            ps.setString(2, nar.key());
            ps.setString(3, nar.fileHash());
            ps.setString(4, packId);
            ps.setLong(5, nar.offset());
            ps.setLong(6, nar.length());
            ps.setString(7, nar.narInfo());
            ps.addBatch();
          }
          ps.executeBatch();
        }
        if (manifestCopies.isPresent()) {
          insertDocument(db, manifestCopies.get().docId(), "manifest", packId, null);
          insertDocumentCopies(db, manifestCopies.get().docId(), manifestCopies.get().holders());
        }
        List<Journal.Entry> entries = new ArrayList<>();
        for (Manifest.Nar nar : manifest.nars()) {
          entries.add(new Journal.Entry(nar.parsedNarInfo().storePath().hashPart(), nar.key(), packId, nar.length(),
              Journal.State.COMMITTED));
        }
        Journal.commit(db, packId, entries, nowMillis);
        return null;
      }));
  }

  /** Registers a holder, or updates its details; false for a replay. See {@link HolderRegistry#register}. */
  public boolean registerHolder(HolderRecord holder, long messageMillis) throws CatalogException {
    return registry.register(holder, messageMillis);
  }

  /** Records a heartbeat; false for a replay. */
  public boolean recordHeartbeat(String holderId, long usedBytes, int fragmentCount, String version,
      long messageMillis, long nowMillis) throws CatalogException {
    return registry.heartbeat(holderId, usedBytes, fragmentCount, version, messageMillis, nowMillis);
  }

  public Optional<HolderRecord> holder(String holderId) throws CatalogException {
    return registry.holder(holderId);
  }

  public List<HolderRecord> holders() throws CatalogException {
    return registry.holders();
  }

  /** Records an audit of one fragment; see {@link HolderRegistry#recordAudit}. */
  public AuditScore recordAudit(String holderId, String fragmentId, boolean passed, String detail, long nowMillis)
      throws CatalogException {
    return registry.recordAudit(holderId, fragmentId, passed, detail, nowMillis);
  }

  /** Accepts a signed holder message by its timestamp; false for a replay. */
  public boolean acceptMessage(String holderId, long messageMillis) throws CatalogException {
    return registry.acceptMessage(holderId, messageMillis);
  }

  /** A holder found a fragment corrupt and quarantined it: it no longer counts as stored there. */
  public void recordScrubReport(String holderId, String fragmentId, long nowMillis) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO scrub_reports (holder_id, fragment_id, at_millis) VALUES (?, ?, ?)")) {
        ps.setString(1, holderId);
        ps.setString(2, fragmentId);
        ps.setLong(3, nowMillis);
        ps.executeUpdate();
      }
      for (String table : List.of("fragments", "document_copies")) {
        String column = table.equals("fragments") ? "fragment_id" : "doc_id";
        try (PreparedStatement ps = db.connection().prepareStatement(
            "UPDATE " + table + " SET state = 'corrupt' WHERE holder_id = ? AND " + column + " = ? "
                + "AND state IN ('stored', 'superseded', 'unverified')")) {
          ps.setString(1, holderId);
          ps.setString(2, fragmentId);
          ps.executeUpdate();
        }
      }
      return null;
    });
  }

  private static void insertDocument(Jdbc db, String docId, String kind, String packId, String body)
      throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO documents (doc_id, kind, pack_id, body) VALUES (?, ?, ?, ?) ON CONFLICT (doc_id) DO NOTHING")) {
      ps.setString(1, docId);
      ps.setString(2, kind);
      ps.setString(3, packId);
      ps.setString(4, body);
      ps.executeUpdate();
    }
  }

  static void insertDocumentCopies(Jdbc db, String docId, List<String> holders) throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO document_copies (doc_id, holder_id, state) VALUES (?, ?, 'stored') "
            + "ON CONFLICT (doc_id, holder_id) DO UPDATE SET state = 'stored'")) {
      for (String h : holders) {
        ps.setString(1, docId);
        ps.setString(2, h);
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  /** Audit outcomes of one holder, oldest first: {@code passed} flags. */
  public List<Boolean> auditResults(String holderId) throws CatalogException {
    return registry.auditResults(holderId);
  }

  /**
   * Records another store path whose narinfo names a NAR object already archived: same pack and
   * place, its own narinfo. False when that store path is already in the catalog.
   */
  public boolean addAlias(String storeHash, ArchivedNar existing, String narInfo, long nowMillis)
      throws CatalogException {
    return addAlias(storeHash, existing, narInfo, Optional.empty(), nowMillis);
  }

  /**
   * As above, also recording the signed alias document and where its copies are stored on
   * holders, in the same transaction.
   *
   * @param document the document's id, its signed text, and the holders with a copy
   */
  public boolean addAlias(String storeHash, ArchivedNar existing, String narInfo,
      Optional<Map.Entry<DocumentCopies, String>> document, long nowMillis) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO nars (store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo) "
              + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
        ps.setString(1, storeHash);
        ps.setString(2, existing.fileKey());
        ps.setString(3, existing.fileHash());
        ps.setString(4, existing.packId());
        ps.setLong(5, existing.packOffset());
        ps.setLong(6, existing.length());
        ps.setString(7, narInfo);
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      Journal.commit(db, existing.packId(), List.of(new Journal.Entry(storeHash, existing.fileKey(),
          existing.packId(), existing.length(), Journal.State.COMMITTED)), nowMillis);
      if (document.isPresent()) {
        DocumentCopies copies = document.get().getKey();
        insertDocument(db, copies.docId(), "alias", existing.packId(), document.get().getValue());
        insertDocumentCopies(db, copies.docId(), copies.holders());
      }
      return true;
    }));
  }

  public Optional<ArchivedNar> narByStoreHash(String storeHash) throws CatalogException {
    return queryNar("store_hash", storeHash);
  }

  /** The NAR stored under this S3 key, e.g. {@code nar/<FileHash>.nar.xz}. */
  public Optional<ArchivedNar> narByFileKey(String fileKey) throws CatalogException {
    return queryNar("file_key", fileKey);
  }

  private Optional<ArchivedNar> queryNar(String column, String value) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo FROM nars WHERE "
              + column + " = ? ORDER BY store_hash LIMIT 1")) {
        ps.setString(1, value);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          return Optional.of(new ArchivedNar(rs.getString(1), rs.getString(2), rs.getString(3),
              rs.getString(4), rs.getLong(5), rs.getLong(6), rs.getString(7)));
        }
      }
    });
  }

  /** The signed manifest of a pack, as stored. */
  public Optional<String> signedManifest(String packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT signed_manifest FROM packs WHERE pack_id = ?")) {
        ps.setString(1, packId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** Where each fragment of a pack is, with its holder's endpoint; by fragment index. */
  public List<FragmentPlacement> placements(String packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT f.pack_id, f.fragment_index, f.fragment_id, f.holder_id, h.endpoint, f.state "
              + "FROM fragments f JOIN holders h ON h.holder_id = f.holder_id "
              + "WHERE f.pack_id = ? ORDER BY f.fragment_index")) {
        ps.setString(1, packId);
        List<FragmentPlacement> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new FragmentPlacement(rs.getString(1), rs.getInt(2), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6)));
          }
        }
        return list;
      }
    });
  }

  /**
   * The placements of a pack that may count as healthy: the fragment is stored (not reported
   * corrupt, not superseded, not awaiting its first audit) on a holder not disqualified. Whether
   * the holder is live is the caller's judgement (it knows the liveness window).
   */
  public List<FragmentPlacement> healthyPlacements(String packId) throws CatalogException {
    java.util.Set<String> disqualified = new java.util.HashSet<>();
    for (HolderRecord h : holders()) {
      if (h.disqualified()) {
        disqualified.add(h.holderId());
      }
    }
    return placements(packId).stream()
        .filter(p -> FragmentPlacement.STORED.equals(p.state()) && !disqualified.contains(p.holderId()))
        .toList();
  }

  /** Counts for summaries: packs, NARs, NAR bytes. */
  public long[] totals() throws CatalogException {
    return db.locked(() -> {
      try (Statement s = db.connection().createStatement();
          ResultSet rs = s.executeQuery(
              "SELECT (SELECT COUNT(*) FROM packs), COUNT(*), COALESCE(SUM(length), 0) FROM nars")) {
        rs.next();
        return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)};
      }
    });
  }

  @Override
  public void close() {
    db.close();
  }
}
