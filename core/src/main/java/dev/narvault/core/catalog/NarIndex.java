package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The NAR index: which pack, at which offset, holds the NAR of a store path or an S3 key. */
public final class NarIndex {
  private final Jdbc db;

  NarIndex(Jdbc db) {
    this.db = db;
  }

  /** True when the NAR of this store hash is already archived. */
  public boolean isArchived(String storeHash) throws CatalogException {
    return narByStoreHash(storeHash).isPresent();
  }

  /**
   * Records another store path whose narinfo names a NAR object already archived: same pack and
   * place, its own narinfo; in the journal as the object stands (restored if it was put back into
   * S3, else committed). False when that store path is already in the catalog.
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
      Optional<Map.Entry<Catalog.DocumentCopies, String>> document, long nowMillis) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      // The pack's row lock, which a rewrite's commit (PackRecords#commitRewrite) takes too: an
      // alias never lands on a pack retired meanwhile, and a rewrite sees every alias committed.
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET retired_millis = retired_millis WHERE pack_id = ? AND retired_millis IS NULL")) {
        ps.setString(1, existing.packId().hex());
        if (ps.executeUpdate() != 1) {
          throw new SQLException("pack " + existing.packId() + " was rewritten (or is not recorded): no alias to it; "
              + "look the object up again");
        }
      }
      // Under that lock, which recording a takedown (Forgotten#record) takes too.
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM forgotten WHERE file_key = ? LIMIT 1")) {
        ps.setString(1, existing.fileKey());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            throw new SQLException("object " + existing.fileKey() + " is forgotten (narvault forget): no alias to it");
          }
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO nars (store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo) "
              + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
        ps.setString(1, storeHash);
        ps.setString(2, existing.fileKey());
        ps.setString(3, existing.fileHash());
        ps.setString(4, existing.packId().hex());
        ps.setLong(5, existing.packOffset());
        ps.setLong(6, existing.length());
        ps.setString(7, narInfo);
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      Journal.enterAlias(db, new Journal.Entry(storeHash, existing.fileKey(), existing.packId(), existing.length(),
          Journal.State.COMMITTED), nowMillis);
      if (document.isPresent()) {
        Catalog.DocumentCopies copies = document.get().getKey();
        PackRecords.insertDocument(db, copies.docId(), "alias", existing.packId(), document.get().getValue());
        PackRecords.insertDocumentCopies(db, copies.docId(), copies.holders());
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

  /** Every store path whose narinfo names this S3 object (it and its aliases), by store hash. */
  public List<ArchivedNar> narsByFileKey(String fileKey) throws CatalogException {
    return list("file_key = ? ORDER BY store_hash", fileKey);
  }

  /**
   * Every store path on this pack, forgotten ones included, in the pack's order (by offset, then
   * store hash): what a rewrite of the pack reads.
   */
  public List<ArchivedNar> narsOnPack(PackId packId) throws CatalogException {
    return list("pack_id = ? ORDER BY pack_offset, store_hash", packId.hex());
  }

  private List<ArchivedNar> list(String where, String value) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo FROM nars WHERE "
              + where)) {
        ps.setString(1, value);
        List<ArchivedNar> list = new java.util.ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new ArchivedNar(rs.getString(1), rs.getString(2), rs.getString(3),
                new PackId(rs.getString(4)), rs.getLong(5), rs.getLong(6), rs.getString(7)));
          }
        }
        return list;
      }
    });
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
              new PackId(rs.getString(4)), rs.getLong(5), rs.getLong(6), rs.getString(7)));
        }
      }
    });
  }
}
