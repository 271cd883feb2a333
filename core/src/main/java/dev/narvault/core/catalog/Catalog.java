package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.Manifest;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The catalog over JDBC: {@code jdbc:sqlite:PATH} (embedded default) or
 * {@code jdbc:postgresql://...}. Opening it applies any missing schema migrations.
 *
 * <p>A thin facade over its parts, which share one {@link Jdbc} helper: the {@link HolderRegistry},
 * the {@link NarIndex}, the {@link PackRecords}, the {@link Documents} on holders, {@link Custody}
 * (repair's fragment custody and garbage), the {@link RepairClaims}, the {@link PlacementOrders},
 * the {@link Journal}, the {@link PendingPacks}, the {@link TrashedCopies}, the
 * {@link ListingCheckpoints}, the {@link Leases}, the {@link CountedBytes} and the {@link AccessRecords}. The methods kept here delegate to them.
 *
 * <p>One connection, used under a lock: simple and correct for SQLite, whose writers serialise
 * anyway. Every multi-row change is one transaction, so a crash leaves all of it or none.
 */
public final class Catalog implements AutoCloseable {
  private final Jdbc db;
  private final Custody custody;
  private final RepairClaims repairClaims;
  private final PlacementOrders placementOrders;
  private final Documents documents;
  private final Journal journal;
  private final HolderRegistry registry;
  private final PendingPacks pendingPacks;
  private final TrashedCopies trashed;
  private final PackRecords packs;
  private final NarIndex nars;
  private final ListingCheckpoints listingCheckpoints;
  private final Leases leases;
  private final CountedBytes countedBytes;
  private final AccessRecords access;

  private Catalog(Jdbc db) {
    this.db = db;
    this.custody = new Custody(db);
    this.repairClaims = new RepairClaims(db);
    this.placementOrders = new PlacementOrders(db);
    this.documents = new Documents(db);
    this.journal = new Journal(db);
    this.registry = new HolderRegistry(db);
    this.pendingPacks = new PendingPacks(db);
    this.trashed = new TrashedCopies(db);
    this.packs = new PackRecords(db, registry);
    this.nars = new NarIndex(db);
    this.listingCheckpoints = new ListingCheckpoints(db);
    this.leases = new Leases(db);
    this.countedBytes = new CountedBytes(db);
    this.access = new AccessRecords(db);
  }

  /** When the cache's NARs were last requested (imported logs, the gateway): what makes a NAR cold. */
  public AccessRecords access() {
    return access;
  }

  /** Leases on work that several coordinators share: rounds that must not run twice, audits of holders. */
  public Leases leases() {
    return leases;
  }

  /** The bytes the catalog counts on each holder, as one coordinator last took them. */
  public CountedBytes countedBytes() {
    return countedBytes;
  }

  /** Where interrupted bucket listings of migrate runs continue. */
  public ListingCheckpoints listingCheckpoints() {
    return listingCheckpoints;
  }

  /** Pack records: packs, their fragments' whereabouts, their documents. */
  public PackRecords packs() {
    return packs;
  }

  /** The NAR index: store hashes and S3 keys to packs. */
  public NarIndex nars() {
    return nars;
  }

  /** Packs being placed by a migrate worker and not committed yet, which garbage collection spares. */
  public PendingPacks pendingPacks() {
    return pendingPacks;
  }

  /** Copies of last resort: what garbage collection deleted and holders still keep in their trash. */
  public TrashedCopies trashed() {
    return trashed;
  }

  /** The holder registry: identities, heartbeats, proofs of reach, reputation. */
  public HolderRegistry registry() {
    return registry;
  }

  /** The migration journal: archived NARs on their way out of S3. */
  public Journal journal() {
    return journal;
  }

  /** Repair's part of the catalog: pack health, committed repairs, audits' picks, garbage. */
  public Custody custody() {
    return custody;
  }

  /** Claims on packs, so that two repair workers never repair one pack at once. */
  public RepairClaims repairClaims() {
    return repairClaims;
  }

  /** The placement orders handed out, so that fragments whose placement never commits are collected. */
  public PlacementOrders placementOrders() {
    return placementOrders;
  }

  /** Signed documents (manifests, aliases) stored on holders, and where their copies are. */
  public Documents documents() {
    return documents;
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

  /** A placed manifest document: its id (as stored on holders) and the holders with a copy. */
  public record DocumentCopies(String docId, List<HolderId> holders) {}

  /** See {@link PackRecords#recordPack(PackId, Manifest, String, List, long)}. */
  public void recordPack(PackId packId, Manifest manifest, String signedManifest, List<HolderId> holderIds,
      long nowMillis) throws CatalogException {
    packs.recordPack(packId, manifest, signedManifest, holderIds, nowMillis);
  }

  /** See {@link PackRecords#recordPack(PackId, Manifest, String, List, Optional, long)}. */
  public void recordPack(PackId packId, Manifest manifest, String signedManifest, List<HolderId> holderIds,
      Optional<DocumentCopies> manifestCopies, long nowMillis) throws CatalogException {
    packs.recordPack(packId, manifest, signedManifest, holderIds, manifestCopies, nowMillis);
  }

  /** See {@link PackRecords#restorePack}. */
  public void restorePack(PackId packId, Manifest manifest, String signedManifest,
      Map<Integer, List<HolderId>> holdersByIndex, FragmentState fragmentState, Optional<DocumentCopies> manifestCopies,
      long nowMillis) throws CatalogException {
    packs.restorePack(packId, manifest, signedManifest, holdersByIndex, fragmentState, manifestCopies, nowMillis);
  }

  /** See {@link PackRecords#restorePacks}. */
  public void restorePacks(List<PackRecords.Restored> restored, FragmentState fragmentState, long nowMillis)
      throws CatalogException {
    packs.restorePacks(restored, fragmentState, nowMillis);
  }

  /** Registers a holder, or updates its details; false for a replay. See {@link HolderRegistry#register}. */
  public boolean registerHolder(HolderRecord holder, long messageMillis) throws CatalogException {
    return registry.register(holder, messageMillis);
  }

  /** Records a heartbeat; false for a replay. */
  public boolean recordHeartbeat(HolderId holderId, long usedBytes, int fragmentCount, String version,
      long messageMillis, long nowMillis) throws CatalogException {
    return registry.heartbeat(holderId, usedBytes, fragmentCount, version, messageMillis, nowMillis);
  }

  public Optional<HolderRecord> holder(HolderId holderId) throws CatalogException {
    return registry.holder(holderId);
  }

  public List<HolderRecord> holders() throws CatalogException {
    return registry.holders();
  }

  /** Records an audit of one fragment; see {@link HolderRegistry#recordAudit}. */
  public AuditScore recordAudit(HolderId holderId, String fragmentId, boolean passed, String detail, long nowMillis)
      throws CatalogException {
    return registry.recordAudit(holderId, fragmentId, passed, detail, nowMillis);
  }

  /** Accepts a signed holder message by its timestamp; false for a replay. */
  public boolean acceptMessage(HolderId holderId, long messageMillis) throws CatalogException {
    return registry.acceptMessage(holderId, messageMillis);
  }

  /** A holder found a fragment corrupt and quarantined it; see {@link Custody#recordScrubReport}. */
  public void recordScrubReport(HolderId holderId, String fragmentId, long nowMillis) throws CatalogException {
    custody.recordScrubReport(holderId, fragmentId, nowMillis);
  }

  /** Audit outcomes of one holder, oldest first: {@code passed} flags. */
  public List<Boolean> auditResults(HolderId holderId) throws CatalogException {
    return registry.auditResults(holderId);
  }

  /** True when the NAR of this store hash is already archived. */
  public boolean isArchived(String storeHash) throws CatalogException {
    return nars.isArchived(storeHash);
  }

  /** See {@link NarIndex#addAlias(String, ArchivedNar, String, long)}. */
  public boolean addAlias(String storeHash, ArchivedNar existing, String narInfo, long nowMillis)
      throws CatalogException {
    return nars.addAlias(storeHash, existing, narInfo, nowMillis);
  }

  /** See {@link NarIndex#addAlias(String, ArchivedNar, String, Optional, long)}. */
  public boolean addAlias(String storeHash, ArchivedNar existing, String narInfo,
      Optional<Map.Entry<DocumentCopies, String>> document, long nowMillis) throws CatalogException {
    return nars.addAlias(storeHash, existing, narInfo, document, nowMillis);
  }

  public Optional<ArchivedNar> narByStoreHash(String storeHash) throws CatalogException {
    return nars.narByStoreHash(storeHash);
  }

  /** The NAR stored under this S3 key, e.g. {@code nar/<FileHash>.nar.xz}. */
  public Optional<ArchivedNar> narByFileKey(String fileKey) throws CatalogException {
    return nars.narByFileKey(fileKey);
  }

  /** The signed manifest of a pack, as stored. */
  public Optional<String> signedManifest(PackId packId) throws CatalogException {
    return packs.signedManifest(packId);
  }

  /** Where each fragment of a pack is, with its holder's endpoint; by fragment index. */
  public List<FragmentPlacement> placements(PackId packId) throws CatalogException {
    return packs.placements(packId);
  }

  /** See {@link PackRecords#healthyPlacements}. */
  public List<FragmentPlacement> healthyPlacements(PackId packId) throws CatalogException {
    return packs.healthyPlacements(packId);
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
