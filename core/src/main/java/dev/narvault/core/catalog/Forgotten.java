package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.SignedTombstone;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The store paths the archive forgot ({@code narvault forget}, a takedown), each with its signed
 * tombstone. A forgotten path keeps its row in the NAR index (its bytes are still in their pack
 * until the pack is rewritten), but the gateway answers 404 for its narinfo and for its NAR object,
 * and never asks S3 about them. The tombstone is a document on holders like an alias
 * ({@link Documents}, kind {@code tombstone}), so a rebuilt catalog forgets the path again.
 *
 * <p>The S3 objects (narinfo and NAR) are deleted after the path is recorded here, and the row
 * says whether that is done: a crash in between leaves it {@link S3Objects#PENDING}, and the next
 * {@code narvault forget} finishes it (deleting an object that is gone is no error).
 */
public final class Forgotten {
  /** Whether a forgotten path's S3 objects are still to be deleted. */
  public enum S3Objects {
    PENDING, DELETED;

    String sql() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** One forgotten path: its tombstone (as signed), the tombstone document's id, its S3 objects' state. */
  public record Entry(SignedTombstone.Tombstone tombstone, String docId, S3Objects s3Objects) {}

  private final Jdbc db;

  Forgotten(Jdbc db) {
    this.db = db;
  }

  /**
   * Records a forgotten path with its tombstone document and where the document's copies are, in
   * one transaction. False (and nothing changed) when the path was forgotten already.
   *
   * @param signedTombstone the tombstone document's text, as stored on holders
   */
  public boolean record(SignedTombstone.Tombstone tombstone, Catalog.DocumentCopies copies, String signedTombstone,
      S3Objects s3Objects) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      // The pack's row lock, which an alias insert (NarIndex#addAlias) takes too and then refuses
      // a forgotten object: no alias lands on the object once this commits.
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET retired_millis = retired_millis WHERE pack_id = ?")) {
        ps.setString(1, tombstone.packId());
        ps.executeUpdate();
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO forgotten (store_hash, file_key, file_hash, nar_hash, pack_id, reason, forgotten_millis, doc_id, "
              + "s3_objects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
        ps.setString(1, tombstone.storeHash());
        ps.setString(2, tombstone.fileKey());
        ps.setString(3, tombstone.fileHash());
        ps.setString(4, tombstone.narHash());
        ps.setString(5, tombstone.packId());
        ps.setString(6, tombstone.reason());
        ps.setLong(7, tombstone.forgottenMillis());
        ps.setString(8, copies.docId());
        ps.setString(9, s3Objects.sql());
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      PackRecords.insertDocument(db, copies.docId(), "tombstone", new PackId(tombstone.packId()), signedTombstone);
      PackRecords.insertDocumentCopies(db, copies.docId(), copies.holders());
      return true;
    }));
  }

  /** Whether the store path of this hash is forgotten. */
  public boolean isForgotten(String storeHash) throws CatalogException {
    return exists("store_hash", storeHash);
  }

  /** Whether a forgotten path named this S3 object (e.g. {@code nar/<FileHash>.nar.xz}). */
  public boolean isForgottenObject(String fileKey) throws CatalogException {
    return exists("file_key", fileKey);
  }

  public Optional<Entry> entry(String storeHash) throws CatalogException {
    List<Entry> found = query("WHERE store_hash = ?", 1, storeHash);
    return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
  }

  /** Forgotten paths whose S3 objects are in {@code state}, by store hash after {@code after}, at most {@code limit}. */
  public List<Entry> withS3Objects(S3Objects state, String after, int limit) throws CatalogException {
    return query("WHERE s3_objects = ? AND store_hash > ?", limit, state.sql(), after);
  }

  /**
   * The path's S3 objects are gone. In the same transaction, the journal's entries of its NAR
   * object still waiting to be drained (committed or verified) are drained: no drain is left to
   * do, and the object is not counted as waiting for one.
   */
  public void s3ObjectsDeleted(String storeHash, long nowMillis) throws CatalogException {
    db.locked(() -> db.inTransaction(() -> {
      String fileKey = null;
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT file_key FROM forgotten WHERE store_hash = ?")) {
        ps.setString(1, storeHash);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            fileKey = rs.getString(1);
          }
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE forgotten SET s3_objects = ? WHERE store_hash = ?")) {
        ps.setString(1, S3Objects.DELETED.sql());
        ps.setString(2, storeHash);
        ps.executeUpdate();
      }
      if (fileKey != null) {
        Journal.drainedByTakedown(db, fileKey, nowMillis);
      }
      return null;
    }));
  }

  /**
   * The share of a pack's bytes that only forgotten paths name (0 to 1): what a rewrite of the
   * pack would drop. An object shared with a path not forgotten counts as live.
   */
  public double deadShare(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COALESCE(SUM(o.length), 0), (SELECT pack_length FROM packs WHERE pack_id = ?) FROM "
              + "(SELECT n.file_key, MAX(n.length) AS length FROM nars n LEFT JOIN forgotten f "
              + "ON f.store_hash = n.store_hash WHERE n.pack_id = ? GROUP BY n.file_key "
              + "HAVING COUNT(f.store_hash) = COUNT(*)) o")) {
        ps.setString(1, packId.hex());
        ps.setString(2, packId.hex());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          long packLength = rs.getLong(2);
          return packLength > 0 ? (double) rs.getLong(1) / packLength : 0;
        }
      }
    });
  }

  /**
   * The packs not retired that hold forgotten paths, with the share of their bytes only forgotten
   * paths name ({@link #deadShare}), by pack id: what {@code forget}'s rewrite pass looks at.
   */
  public SortedMap<PackId, Double> packsWithForgotten() throws CatalogException {
    List<String> ids = db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT DISTINCT n.pack_id FROM nars n JOIN forgotten f ON f.store_hash = n.store_hash "
              + "JOIN packs p ON p.pack_id = n.pack_id WHERE p.retired_millis IS NULL ORDER BY n.pack_id")) {
        List<String> list = new ArrayList<>();
        Jdbc.collect(ps, list);
        return list;
      }
    });
    SortedMap<PackId, Double> shares = new TreeMap<>();
    for (String id : ids) {
      shares.put(new PackId(id), deadShare(new PackId(id)));
    }
    return shares;
  }

  /** How many paths are forgotten. */
  public long count() throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("SELECT COUNT(*) FROM forgotten");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  private boolean exists(String column, String value) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM forgotten WHERE " + column + " = ? LIMIT 1")) {
        ps.setString(1, value);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  private List<Entry> query(String where, int limit, String... parameters) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, file_hash, nar_hash, pack_id, reason, forgotten_millis, doc_id, s3_objects "
              + "FROM forgotten " + where + " ORDER BY store_hash LIMIT ?")) {
        for (int i = 0; i < parameters.length; i++) {
          ps.setString(i + 1, parameters[i]);
        }
        ps.setInt(parameters.length + 1, limit);
        return entries(ps);
      }
    });
  }

  private static List<Entry> entries(PreparedStatement ps) throws SQLException {
    List<Entry> list = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        list.add(new Entry(new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT, rs.getString(1),
            rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5), rs.getString(6), rs.getLong(7)),
            rs.getString(8), S3Objects.valueOf(rs.getString(9).toUpperCase(Locale.ROOT))));
      }
    }
    return list;
  }
}
