package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.Manifest;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Pack records: a pack with its signed manifest, where each of its fragments is, and the NARs it
 * holds, recorded in one transaction with their journal entries; the signed documents (manifest
 * and alias copies) stored beside them.
 */
public final class PackRecords {
  private final Jdbc db;
  private final HolderRegistry registry;

  PackRecords(Jdbc db, HolderRegistry registry) {
    this.db = db;
    this.registry = registry;
  }

  /**
   * Records a placed pack in one transaction: the pack with its signed manifest, each fragment's
   * holder, and every NAR. A NAR some other pack already archived is skipped, not overwritten.
   *
   * @param holderIds the holder of each fragment, by fragment index
   */
  public void recordPack(PackId packId, Manifest manifest, String signedManifest, List<HolderId> holderIds,
      long nowMillis) throws CatalogException {
    recordPack(packId, manifest, signedManifest, holderIds, Optional.empty(), nowMillis);
  }


  /**
   * As above, also recording where copies of the signed manifest are stored on holders, in the
   * same transaction.
   */
  public void recordPack(PackId packId, Manifest manifest, String signedManifest, List<HolderId> holderIds,
      Optional<Catalog.DocumentCopies> manifestCopies, long nowMillis) throws CatalogException {
    if (holderIds.size() != manifest.fragments().size()) {
      throw new IllegalArgumentException("need one holder per fragment: " + holderIds.size() + " for "
          + manifest.fragments().size());
    }
    Map<Integer, List<HolderId>> byIndex = new java.util.HashMap<>();
    for (int i = 0; i < holderIds.size(); i++) {
      byIndex.put(i, List.of(holderIds.get(i)));
    }
    restorePack(packId, manifest, signedManifest, byIndex, FragmentState.STORED, manifestCopies, nowMillis);
  }

  /**
   * Records a pack whose fragments may be on any number of holders each (none, one, several): what
   * a rebuild from the holders finds. Otherwise as {@link #recordPack}.
   *
   * @param fragmentState the state of every fragment row recorded: {@link FragmentState#STORED},
   *     or {@link FragmentState#UNVERIFIED} for copies only a holder's listing vouches for
   *     (they count once they pass an audit)
   */
  public void restorePack(PackId packId, Manifest manifest, String signedManifest,
      Map<Integer, List<HolderId>> holdersByIndex, FragmentState fragmentState, Optional<Catalog.DocumentCopies> manifestCopies,
      long nowMillis) throws CatalogException {
    restorePacks(List.of(new Restored(packId, manifest, signedManifest, holdersByIndex, manifestCopies)),
        fragmentState, nowMillis);
  }

  /**
   * A pack as a rebuild restores it: see {@link #restorePack}.
   *
   * @param holdersByIndex the holders of each fragment index (none, one or several)
   */
  public record Restored(PackId packId, Manifest manifest, String signedManifest,
      Map<Integer, List<HolderId>> holdersByIndex, Optional<Catalog.DocumentCopies> manifestCopies) {}

  /**
   * Restores several packs in one transaction, each as {@link #restorePack} does: a rebuild
   * restores packs in batches, since one commit per pack is bound by the disk's syncs.
   */
  public void restorePacks(List<Restored> packs, FragmentState fragmentState, long nowMillis)
      throws CatalogException {
    if (fragmentState != FragmentState.STORED && fragmentState != FragmentState.UNVERIFIED) {
      throw new IllegalArgumentException("a recorded fragment is stored or unverified, got '" + fragmentState + "'");
    }
    db.locked(() -> db.inTransaction(() -> {
      for (Restored pack : packs) {
        insert(pack, fragmentState, nowMillis);
      }
      return null;
    }));
  }

  private void insert(Restored pack, FragmentState fragmentState, long nowMillis) throws SQLException {
    PackId packId = pack.packId();
    Manifest manifest = pack.manifest();
    insertPackAndFragments(pack, fragmentState, nowMillis);
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO nars (store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
      for (Manifest.Nar nar : manifest.nars()) {
        ps.setString(1, nar.parsedNarInfo().storePath().hashPart());
        ps.setString(2, nar.key());
        ps.setString(3, nar.fileHash());
        ps.setString(4, packId.hex());
        ps.setLong(5, nar.offset());
        ps.setLong(6, nar.length());
        ps.setString(7, nar.narInfo());
        ps.addBatch();
      }
      ps.executeBatch();
    }
    List<Journal.Entry> entries = new ArrayList<>();
    for (Manifest.Nar nar : manifest.nars()) {
      entries.add(new Journal.Entry(nar.parsedNarInfo().storePath().hashPart(), nar.key(), packId, nar.length(),
          Journal.State.COMMITTED));
    }
    Journal.commit(db, packId, entries, nowMillis);
  }

  /**
   * Restores a pack as {@link #restorePack} does, except that a store path whose NAR object
   * another recorded pack holds already (same key, FileHash and length) is indexed on that pack:
   * what a catalog rebuild does with the packs {@code forget}'s rewrites touched, restoring those
   * it found whole first, so that an object they share is read from a whole pack.
   */
  public void restoreSharingObjects(Restored pack, FragmentState fragmentState, long nowMillis)
      throws CatalogException {
    if (fragmentState != FragmentState.STORED && fragmentState != FragmentState.UNVERIFIED) {
      throw new IllegalArgumentException("a recorded fragment is stored or unverified, got '" + fragmentState + "'");
    }
    db.locked(() -> db.inTransaction(() -> {
      insertPackAndFragments(pack, fragmentState, nowMillis);
      Map<PackId, List<Journal.Entry>> byPack = new java.util.LinkedHashMap<>();
      for (Manifest.Nar nar : pack.manifest().nars()) {
        PackId at = pack.packId();
        long offset = nar.offset();
        try (PreparedStatement ps = db.connection().prepareStatement(
            "SELECT pack_id, pack_offset FROM nars WHERE file_key = ? AND file_hash = ? AND length = ? "
                + "AND pack_id <> ? ORDER BY pack_id LIMIT 1")) {
          ps.setString(1, nar.key());
          ps.setString(2, nar.fileHash());
          ps.setLong(3, nar.length());
          ps.setString(4, pack.packId().hex());
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              at = new PackId(rs.getString(1));
              offset = rs.getLong(2);
            }
          }
        }
        String storeHash = nar.parsedNarInfo().storePath().hashPart();
        try (PreparedStatement ps = db.connection().prepareStatement(
            "INSERT INTO nars (store_hash, file_key, file_hash, pack_id, pack_offset, length, narinfo) "
                + "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
          ps.setString(1, storeHash);
          ps.setString(2, nar.key());
          ps.setString(3, nar.fileHash());
          ps.setString(4, at.hex());
          ps.setLong(5, offset);
          ps.setLong(6, nar.length());
          ps.setString(7, nar.narInfo());
          ps.executeUpdate();
        }
        byPack.computeIfAbsent(at, x -> new ArrayList<>())
            .add(new Journal.Entry(storeHash, nar.key(), at, nar.length(), Journal.State.COMMITTED));
      }
      for (Map.Entry<PackId, List<Journal.Entry>> e : byPack.entrySet()) {
        Journal.commit(db, e.getKey(), e.getValue(), nowMillis);
      }
      return null;
    }));
  }

  /** The pack's row, its fragments' rows and its manifest document: everything but its NARs. */
  private void insertPackAndFragments(Restored pack, FragmentState fragmentState, long nowMillis)
      throws SQLException {
    PackId packId = pack.packId();
    Manifest manifest = pack.manifest();
    Map<Integer, List<HolderId>> holdersByIndex = pack.holdersByIndex();
    Optional<Catalog.DocumentCopies> manifestCopies = pack.manifestCopies();
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO packs (pack_id, data_fragments, parity_fragments, pack_length, signed_manifest, "
            + "created_millis) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pack_id) DO NOTHING")) {
      ps.setString(1, packId.hex());
      ps.setInt(2, manifest.dataFragmentCount());
      ps.setInt(3, manifest.parityFragmentCount());
      ps.setLong(4, manifest.packLength());
      ps.setString(5, pack.signedManifest());
      ps.setLong(6, nowMillis);
      ps.executeUpdate();
    }
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO fragments (pack_id, fragment_index, fragment_id, holder_id, state) VALUES (?, ?, ?, ?, ?) "
            + "ON CONFLICT (pack_id, fragment_index, holder_id) DO NOTHING")) {
      for (Manifest.Fragment f : manifest.fragments()) {
        for (HolderId holder : holdersByIndex.getOrDefault(f.index(), List.of())) {
          ps.setString(1, packId.hex());
          ps.setInt(2, f.index());
          ps.setString(3, f.id().hex());
          ps.setString(4, holder.value());
          ps.setString(5, fragmentState.sql());
          ps.addBatch();
        }
      }
      ps.executeBatch();
    }
    if (manifestCopies.isPresent()) {
      insertDocument(db, manifestCopies.get().docId(), "manifest", packId, null);
      insertDocumentCopies(db, manifestCopies.get().docId(), manifestCopies.get().holders());
    }
  }

  /**
   * Commits a pack rewritten without its forgotten NARs, in one transaction: the new pack is
   * recorded (its fragments on {@code holderIds}, its manifest's copies); every store path it
   * lists moves to it (its offset there), and its journal entry with it; the forgotten paths'
   * index rows of the old pack go (their journal rows stay with it); the old pack is retired (by
   * the new one): its fragment copies and the copies of its manifest and alias documents become
   * superseded, which garbage collection
   * deletes without asking for the pack to be whole, and which neither repair nor a revival after
   * an audit counts again. Nothing is changed, and {@link CatalogException} says why, when
   * {@code owner} does not hold the old pack's claim, unexpired at {@code nowMillis} ({@link RepairClaims}: it keeps repair and
   * garbage collection off the pack while it is read and rewritten), the old pack is retired
   * already, a path the new manifest lists is not on the old pack, or a path on the old pack that
   * is not forgotten is missing from the new manifest (an alias added meanwhile): no live path may
   * be left on a retired pack.
   *
   * @param holderIds the holder of each fragment of the new pack, by fragment index
   */
  public void commitRewrite(PackId oldPackId, String owner, PackId newPackId, Manifest manifest,
      String signedManifest, List<HolderId> holderIds, Catalog.DocumentCopies manifestCopies, long nowMillis)
      throws CatalogException {
    if (holderIds.size() != manifest.fragments().size()) {
      throw new IllegalArgumentException("need one holder per fragment: " + holderIds.size() + " for "
          + manifest.fragments().size());
    }
    if (oldPackId.equals(newPackId)) {
      throw new IllegalArgumentException("a pack cannot replace itself: " + oldPackId);
    }
    if (!manifest.replacedPack().equals(Optional.of(oldPackId))) {
      throw new IllegalArgumentException("the new manifest must name the pack it replaces (" + oldPackId
          + "), so that a catalog rebuilt from the holders retires it too; it names "
          + manifest.replacedPack().map(PackId::hex).orElse("none"));
    }
    Map<Integer, List<HolderId>> byIndex = new java.util.HashMap<>();
    for (int i = 0; i < holderIds.size(); i++) {
      byIndex.put(i, List.of(holderIds.get(i)));
    }
    db.locked(() -> db.inTransaction(() -> {
      // First, under the old pack's row lock: an alias insert (NarIndex#addAlias) takes it too,
      // so it either committed before (and is checked below) or finds the pack retired.
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET retired_millis = ?, retired_by = ?, claim_owner = NULL, claim_until_millis = 0 "
              + "WHERE pack_id = ? AND claim_owner = ? AND claim_until_millis >= ? AND retired_millis IS NULL")) {
        ps.setLong(1, nowMillis);
        ps.setString(2, newPackId.hex());
        ps.setString(3, oldPackId.hex());
        ps.setString(4, owner);
        ps.setLong(5, nowMillis);
        if (ps.executeUpdate() != 1) {
          throw new SQLException("rewrite of pack " + oldPackId + " does not hold its claim (or it expired), or the pack "
              + "is retired already; not committed");
        }
      }
      insertPackAndFragments(new Restored(newPackId, manifest, signedManifest, byIndex, Optional.of(manifestCopies)),
          FragmentState.STORED, nowMillis);
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE nars SET pack_id = ?, pack_offset = ? WHERE store_hash = ? AND file_key = ? AND pack_id = ? "
              + "AND length = ?")) {
        for (Manifest.Nar nar : manifest.nars()) {
          String storeHash = nar.parsedNarInfo().storePath().hashPart();
          ps.setString(1, newPackId.hex());
          ps.setLong(2, nar.offset());
          ps.setString(3, storeHash);
          ps.setString(4, nar.key());
          ps.setString(5, oldPackId.hex());
          ps.setLong(6, nar.length());
          if (ps.executeUpdate() != 1) {
            throw new SQLException("store path " + storeHash + " (" + nar.key() + ") of the new pack " + newPackId
                + " is not on pack " + oldPackId + "; rewrite not committed");
          }
        }
      }
      List<String> left = livePaths(oldPackId);
      if (!left.isEmpty()) {
        throw new SQLException("store paths " + left + " of pack " + oldPackId + " are not forgotten and not in "
            + "the new pack " + newPackId + " (added meanwhile?); rewrite not committed");
      }
      // The moved paths' journal rows follow them; a forgotten path's row stays with the retired
      // pack, which no drain judges safe.
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE journal SET pack_id = ? WHERE pack_id = ? AND store_hash IN "
              + "(SELECT store_hash FROM nars WHERE pack_id = ?)")) {
        ps.setString(1, newPackId.hex());
        ps.setString(2, oldPackId.hex());
        ps.setString(3, newPackId.hex());
        ps.executeUpdate();
      }
      dropRetiredRows(oldPackId);
      return null;
    }));
  }

  /** A retired pack's forgotten paths' rows go; its fragment, manifest and alias copies become garbage. */
  private void dropRetiredRows(PackId oldPackId) throws SQLException {
    for (String sql : List.of(
        "DELETE FROM nars WHERE pack_id = ?",
        "UPDATE fragments SET state = 'superseded' WHERE pack_id = ? AND state IN ('stored', 'unverified')",
        "UPDATE document_copies SET state = 'superseded' WHERE state = 'stored' AND doc_id IN "
            + "(SELECT doc_id FROM documents WHERE pack_id = ? AND kind IN ('manifest', 'alias'))")) {
      try (PreparedStatement ps = db.connection().prepareStatement(sql)) {
        ps.setString(1, oldPackId.hex());
        ps.executeUpdate();
      }
    }
  }

  /**
   * Retires a pack every path of which is forgotten, replaced by none: as {@link #commitRewrite}
   * does, without a new pack. Refused (CatalogException, nothing changed) without the pack's claim
   * by {@code owner}, when it is retired already, or when some path on it is not forgotten.
   */
  public void retireDead(PackId packId, String owner, long nowMillis) throws CatalogException {
    db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET retired_millis = ?, retired_by = NULL, claim_owner = NULL, claim_until_millis = 0 "
              + "WHERE pack_id = ? AND claim_owner = ? AND claim_until_millis >= ? AND retired_millis IS NULL")) {
        ps.setLong(1, nowMillis);
        ps.setString(2, packId.hex());
        ps.setString(3, owner);
        ps.setLong(4, nowMillis);
        if (ps.executeUpdate() != 1) {
          throw new SQLException("retiring pack " + packId + ": this run does not hold its claim, or the pack is "
              + "retired already; not retired");
        }
      }
      List<String> live = livePaths(packId);
      if (!live.isEmpty()) {
        throw new SQLException("store paths " + live + " of pack " + packId + " are not forgotten; not retired");
      }
      dropRetiredRows(packId);
      return null;
    }));
  }

  private List<String> livePaths(PackId packId) throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "SELECT n.store_hash FROM nars n WHERE n.pack_id = ? "
            + "AND NOT EXISTS (SELECT 1 FROM forgotten f WHERE f.store_hash = n.store_hash)")) {
      ps.setString(1, packId.hex());
      List<String> left = new ArrayList<>();
      Jdbc.collect(ps, left);
      return left;
    }
  }

  /**
   * Retires a pack no live path is on (every path on it is forgotten, or none is on it), for a
   * catalog rebuild: what it found of a pack a rewrite replaced, or of a rewrite that never
   * committed, once every other path is restored. As {@link #commitRewrite} leaves an old pack:
   * its forgotten paths' rows go, its copies become garbage. Nothing is done, and false answered,
   * when the pack is not recorded, is retired already, or serves a live path.
   *
   * @param by the pack that replaced it, if known
   */
  public boolean retireWithoutLivePaths(PackId packId, Optional<PackId> by, long nowMillis) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      if (!livePaths(packId).isEmpty()) {
        return false;
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET retired_millis = ?, retired_by = ? WHERE pack_id = ? AND retired_millis IS NULL")) {
        ps.setLong(1, nowMillis);
        ps.setString(2, by.map(PackId::hex).orElse(null));
        ps.setString(3, packId.hex());
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      dropRetiredRows(packId);
      return true;
    }));
  }

  /**
   * A retired pack: the pack that replaced it ({@link #commitRewrite}; none when every path on it
   * was forgotten, {@link #retireDead}), and when.
   */
  public record Retired(Optional<PackId> by, long retiredMillis) {}

  /** Whether the pack is retired, by which pack and when. */
  public Optional<Retired> retired(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT retired_by, retired_millis FROM packs WHERE pack_id = ? AND retired_millis IS NOT NULL")) {
        ps.setString(1, packId.hex());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new Retired(Optional.ofNullable(rs.getString(1)).map(PackId::new), rs.getLong(2)))
              : Optional.empty();
        }
      }
    });
  }

  /** The signed manifest of a pack, as stored. */
  public Optional<String> signedManifest(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT signed_manifest FROM packs WHERE pack_id = ?")) {
        ps.setString(1, packId.hex());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** Where each fragment of a pack is, with its holder's endpoint; by fragment index. */
  public List<FragmentPlacement> placements(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT f.pack_id, f.fragment_index, f.fragment_id, f.holder_id, h.endpoint, f.state "
              + "FROM fragments f JOIN holders h ON h.holder_id = f.holder_id "
              + "WHERE f.pack_id = ? ORDER BY f.fragment_index")) {
        ps.setString(1, packId.hex());
        List<FragmentPlacement> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new FragmentPlacement(new PackId(rs.getString(1)), rs.getInt(2), rs.getString(3),
                new HolderId(rs.getString(4)),
                rs.getString(5), FragmentState.parse(rs.getString(6))));
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
  public List<FragmentPlacement> healthyPlacements(PackId packId) throws CatalogException {
    java.util.Set<HolderId> disqualified = new java.util.HashSet<>();
    for (HolderRecord h : registry.holders()) {
      if (h.disqualified()) {
        disqualified.add(h.holderId());
      }
    }
    return placements(packId).stream()
        .filter(p -> p.state() == FragmentState.STORED && !disqualified.contains(p.holderId()))
        .toList();
  }

  static void insertDocument(Jdbc db, String docId, String kind, PackId packId, String body)
      throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO documents (doc_id, kind, pack_id, body) VALUES (?, ?, ?, ?) ON CONFLICT (doc_id) DO NOTHING")) {
      ps.setString(1, docId);
      ps.setString(2, kind);
      ps.setString(3, packId.hex());
      ps.setString(4, body);
      ps.executeUpdate();
    }
  }

  static void insertDocumentCopies(Jdbc db, String docId, List<HolderId> holders) throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO document_copies (doc_id, holder_id, state) VALUES (?, ?, 'stored') "
            + "ON CONFLICT (doc_id, holder_id) DO UPDATE SET state = 'stored'")) {
      for (HolderId h : holders) {
        ps.setString(1, docId);
        ps.setString(2, h.value());
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }
}
