package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The signed documents (pack manifests, aliases to older packs, tombstones) stored on holders, and where
 * their copies are. Holders keep them so that a lost catalog can be rebuilt from the holders
 * alone. A document is not erasure-coded: repair keeps enough whole copies of it, written from
 * the text kept here ({@link #documentBody}), so it has queries of its own, apart from the
 * fragments' ({@link Custody}). Documents are first recorded with their pack or alias
 * ({@link PackRecords}, {@link NarIndex}); copies no longer stored are collected as
 * {@link Custody#garbage garbage}.
 */
public final class Documents {
  /**
   * A signed document (manifest, alias or tombstone) stored on holders: its kind, pack, and where
   * its copies are. {@code retired}: a manifest or alias of a retired pack (rewritten, {@link
   * PackRecords#commitRewrite}), whose copies are garbage and which repair no longer copies.
   */
  public record Document(String docId, String kind, PackId packId, List<HolderId> holders, boolean retired) {}

  private final Jdbc db;

  Documents(Jdbc db) {
    this.db = db;
  }

  /**
   * Documents with a copy on one of {@code holders} or a copy no longer stored (to check whether
   * enough copies remain). Each lists the holders of its stored copies.
   */
  public List<Document> documentsOn(Collection<HolderId> holders) throws CatalogException {
    List<String> ids = db.locked(() -> {
      TreeSet<String> found = new TreeSet<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT doc_id FROM document_copies WHERE holder_id = ?")) {
        for (HolderId h : holders) {
          ps.setString(1, h.value());
          Jdbc.collect(ps, found);
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT DISTINCT doc_id FROM document_copies WHERE state <> 'stored'")) {
        Jdbc.collect(ps, found);
      }
      return List.copyOf(found);
    });
    List<Document> list = new ArrayList<>();
    for (String id : ids) {
      document(id).filter(d -> !d.retired()).ifPresent(list::add);
    }
    return list;
  }

  public Optional<Document> document(String docId) throws CatalogException {
    return db.locked(() -> {
      String kind;
      PackId packId;
      boolean retired;
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT d.kind, d.pack_id, p.retired_millis FROM documents d LEFT JOIN packs p ON p.pack_id = d.pack_id "
              + "WHERE d.doc_id = ?")) {
        ps.setString(1, docId);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          kind = rs.getString(1);
          packId = new PackId(rs.getString(2));
          rs.getLong(3);
          // A tombstone names the pack its NAR was in, but outlives it.
          retired = !rs.wasNull() && !kind.equals("tombstone");
        }
      }
      List<String> holderIds = new ArrayList<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT holder_id FROM document_copies WHERE doc_id = ? AND state = 'stored' ORDER BY holder_id")) {
        ps.setString(1, docId);
        Jdbc.collect(ps, holderIds);
      }
      return Optional.of(new Document(docId, kind, packId, holderIds.stream().map(HolderId::new).toList(), retired));
    });
  }

  /** A document's signed bytes: an alias's body, or the manifest of its pack. */
  public Optional<String> documentBody(String docId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COALESCE(d.body, p.signed_manifest) FROM documents d LEFT JOIN packs p ON p.pack_id = d.pack_id "
              + "WHERE d.doc_id = ?")) {
        ps.setString(1, docId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** A document copy that no longer counts (its holder is leaving): garbage once replaced. */
  public void supersedeDocumentCopy(String docId, HolderId holderId) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE document_copies SET state = 'superseded' WHERE doc_id = ? AND holder_id = ? AND state = 'stored'")) {
        ps.setString(1, docId);
        ps.setString(2, holderId.value());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Stored document copies on a holder. */
  public long storedDocumentCopies(HolderId holderId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COUNT(*) FROM document_copies WHERE holder_id = ? AND state = 'stored'")) {
        ps.setString(1, holderId.value());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  /** Records more copies of a document (repair placed them). */
  public void addDocumentCopies(String docId, List<HolderId> holders) throws CatalogException {
    db.locked(() -> {
      PackRecords.insertDocumentCopies(db, docId, holders);
      return null;
    });
  }
}
