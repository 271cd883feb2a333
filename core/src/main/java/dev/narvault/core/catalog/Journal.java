package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The migration journal: per archived NAR, how far it has come towards leaving S3.
 *
 * <pre>
 *   COMMITTED ──read back through the holders, NarHash verified──► VERIFIED ──object deleted──► DRAINED
 *                                                                                                  │
 *   RESTORED ◄──read back and verified through the holders, put into S3 again (promote, restore)──┘
 * </pre>
 *
 * A {@link State#RESTORED} NAR is archived and in S3 again (it became hot, or an operator put it
 * back), in the bucket its entry names ({@code restored_to}; none for those a promote put back
 * before the bucket was recorded): the gateway serves it from S3, and no drain takes it out again
 * unless it is selected as unused again ({@code migrate --unused-for}), when it goes back to
 * {@link State#COMMITTED} and takes the path above. {@code restore} also takes objects never
 * drained (still in S3) to {@link State#RESTORED}, so that a later drain leaves them there.
 *
 * A NAR enters as {@link State#COMMITTED} in the same transaction that records its pack, so the
 * journal never names a NAR the catalog cannot serve. What happens before (listed, fetched and
 * verified into the local spool, packed, placed) lives only in the migrating process: a crash
 * there loses nothing but that work, which the next run redoes. The S3 object is deleted only from
 * {@code VERIFIED}; deleting is idempotent, so a crash between the delete and {@code DRAINED} is
 * finished by the next run.
 */
public final class Journal {
  /** Where a NAR stands. */
  public enum State {
    COMMITTED, VERIFIED, DRAINED, RESTORED;

    String sql() {
      return name().toLowerCase(Locale.ROOT);
    }

    static State parse(String s) {
      return valueOf(s.toUpperCase(Locale.ROOT));
    }
  }

  /** One journal row. */
  public record Entry(String storeHash, String fileKey, PackId packId, long fileSize, State state) {}

  private final Jdbc db;

  Journal(Jdbc db) {
    this.db = db;
  }

  /** Entries in {@code state}, by object key, at most {@code limit}, from key {@code after} on (exclusive). */
  public List<Entry> inState(State state, String after, int limit) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, pack_id, file_size, state FROM journal WHERE state = ? AND file_key > ? "
              + "ORDER BY file_key, store_hash LIMIT ?")) {
        ps.setString(1, state.sql());
        ps.setString(2, after);
        ps.setInt(3, limit);
        return entries(ps);
      }
    });
  }

  /** A pack's entries in {@code state}, by object key. */
  public List<Entry> inPack(PackId packId, State state) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, pack_id, file_size, state FROM journal WHERE pack_id = ? AND state = ? "
              + "ORDER BY file_key, store_hash")) {
        ps.setString(1, packId.hex());
        ps.setString(2, state.sql());
        return entries(ps);
      }
    });
  }

  /** The entries a query selects, as {@code store_hash, file_key, pack_id, file_size, state}. */
  private static List<Entry> entries(PreparedStatement ps) throws java.sql.SQLException {
    List<Entry> list = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        list.add(new Entry(rs.getString(1), rs.getString(2), new PackId(rs.getString(3)), rs.getLong(4),
            State.parse(rs.getString(5))));
      }
    }
    return list;
  }

  /** The store hashes of every entry naming this S3 object (aliases share one), by store hash. */
  public List<String> storeHashesOf(String fileKey) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash FROM journal WHERE file_key = ? ORDER BY store_hash")) {
        ps.setString(1, fileKey);
        List<String> hashes = new ArrayList<>();
        Jdbc.collect(ps, hashes);
        return hashes;
      }
    });
  }

  /** How many objects (each counted once, whatever the store paths naming it) and stored bytes. */
  public record Totals(long objects, long bytes) {}

  public Optional<State> state(String storeHash) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("SELECT state FROM journal WHERE store_hash = ?")) {
        ps.setString(1, storeHash);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(State.parse(rs.getString(1))) : Optional.empty();
        }
      }
    });
  }

  /**
   * Moves every entry of one S3 object (all store paths naming it) from {@code from} to {@code to},
   * and the object in the totals with them, in one transaction.
   */
  public int advance(String fileKey, State from, State to, long nowMillis) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> move(db, fileKey, from, to, nowMillis)));
  }

  /**
   * Records an S3 object as put back into {@code bucket} ({@code promote}, {@code restore}): every
   * entry of it, in whatever state, moves to {@link State#RESTORED}, names that bucket and is
   * stamped {@code nowMillis} (so that {@code migrate --unused-for} waits a whole window from now),
   * in one transaction. Repeating it changes nothing but the stamp.
   *
   * <p>Only while {@code worker} holds its claim on the object ({@link #claimObject}), checked in
   * the same transaction: the drain deletes an object only under its own claim, so a put-back that
   * lost its claim meanwhile (it lapsed and a drain took it) may have seen an object that is gone
   * now, and records nothing.
   *
   * @return the entries the object has
   * @throws CatalogException when {@code worker} no longer holds the object's claim
   */
  public int restored(String fileKey, String bucket, String worker, long nowMillis) throws CatalogException {
    if (bucket == null || bucket.isBlank()) {
      throw new IllegalArgumentException("a bucket is required, got '" + bucket + "'");
    }
    int entries = db.locked(() -> db.inTransaction(() -> {
      if (!holds(db, fileKey, worker)) {
        return -1; // nothing written
      }
      for (State from : List.of(State.COMMITTED, State.VERIFIED, State.DRAINED)) {
        move(db, fileKey, from, State.RESTORED, nowMillis);
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE journal SET restored_to = ?, updated_millis = ? WHERE file_key = ? AND state = 'restored'")) {
        ps.setString(1, bucket);
        ps.setLong(2, nowMillis);
        ps.setString(3, fileKey);
        return ps.executeUpdate();
      }
    }));
    if (entries < 0) {
      throw new CatalogException("not recording " + fileKey + " as put back into " + bucket + ": " + worker
          + " no longer holds its claim (a drain may have taken it meanwhile); the next run checks it again");
    }
    return entries;
  }

  /**
   * Whether any entry of the object is {@link State#RESTORED} (in whatever bucket): the drain
   * then deletes it nowhere, whatever the state of the entry it came by.
   */
  public boolean anyRestored(String fileKey) throws CatalogException {
    return db.locked(() -> has(db, fileKey, State.RESTORED));
  }

  /**
   * Whether the NAR of this store path was put back into {@code bucket}: its entry is
   * {@link State#RESTORED} there, or names no bucket (put back by a promote from before buckets
   * were recorded: into the bucket the gateway proxies). Put back into another bucket, it is not
   * in this one.
   */
  public boolean isBackIn(String storeHash, String bucket) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM journal WHERE store_hash = ? AND state = 'restored' AND (restored_to IS NULL OR restored_to = ?)")) {
        ps.setString(1, storeHash);
        ps.setString(2, bucket);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /**
   * Whether the object is recorded as put back into {@code bucket}: it has entries, and every one
   * is {@link State#RESTORED} there (one put back by a promote of before the bucket was recorded
   * names none, so it is not).
   */
  public boolean isRestoredIn(String fileKey, String bucket) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'restored' AND restored_to = ? THEN 1 ELSE 0 END), 0) "
              + "FROM journal WHERE file_key = ?")) {
        ps.setString(1, bucket);
        ps.setString(2, fileKey);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1) > 0 && rs.getLong(1) == rs.getLong(2);
        }
      }
    });
  }

  /** Where a {@link State#RESTORED} object was put back, if the journal knows. */
  public Optional<String> restoredTo(String storeHash) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT restored_to FROM journal WHERE store_hash = ? AND state = 'restored'")) {
        ps.setString(1, storeHash);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.ofNullable(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** When the object's entries last changed while {@link State#RESTORED} (when it was put back), if any is. */
  public Optional<Long> restoredMillis(String fileKey) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT MAX(updated_millis) FROM journal WHERE file_key = ? AND state = 'restored'")) {
        ps.setString(1, fileKey);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          long at = rs.getLong(1);
          return rs.wasNull() ? Optional.empty() : Optional.of(at);
        }
      }
    });
  }

  /** Entries in every state, by object key, at most {@code limit}, from key {@code after} on (exclusive). */
  public List<Entry> all(String after, int limit) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, file_key, pack_id, file_size, state FROM journal WHERE file_key > ? "
              + "ORDER BY file_key, store_hash LIMIT ?")) {
        ps.setString(1, after);
        ps.setInt(2, limit);
        return entries(ps);
      }
    });
  }

  /**
   * A forgotten object's S3 objects were deleted by {@code narvault forget}: its entries still
   * waiting to be drained (committed, verified) are drained, inside the caller's transaction.
   */
  static void drainedByTakedown(Jdbc db, String fileKey, long nowMillis) throws java.sql.SQLException {
    move(db, fileKey, State.VERIFIED, State.DRAINED, nowMillis);
    move(db, fileKey, State.COMMITTED, State.DRAINED, nowMillis);
  }

  /** {@link #advance}'s work, inside the caller's transaction. */
  private static int move(Jdbc db, String fileKey, State from, State to, long nowMillis)
      throws java.sql.SQLException {
    int moved;
    try (PreparedStatement ps = db.connection().prepareStatement(
        "UPDATE journal SET state = ?, updated_millis = ?, restored_to = "
            + (to == State.RESTORED ? "restored_to" : "NULL") + " WHERE file_key = ? AND state = ?")) {
      ps.setString(1, to.sql());
      ps.setLong(2, nowMillis);
      ps.setString(3, fileKey);
      ps.setString(4, from.sql());
      moved = ps.executeUpdate();
    }
    if (moved > 0 && from != to) {
      // Judged after the UPDATE, which holds the moved rows: the object was already counted in
      // `to` if more rows than these are there now.
      boolean alreadyThere = rows(db, fileKey, to) > moved;
      long size = size(db, fileKey);
      count(db, from, -1, -size);
      if (!alreadyThere) {
        count(db, to, 1, size);
      }
    }
    return moved;
  }

  /** Whether the object has an entry in {@code state}. */
  private static boolean has(Jdbc db, String fileKey, State state) throws java.sql.SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "SELECT 1 FROM journal WHERE file_key = ? AND state = ? LIMIT 1")) {
      ps.setString(1, fileKey);
      ps.setString(2, state.sql());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** How many entries the object has in {@code state}. */
  private static int rows(Jdbc db, String fileKey, State state) throws java.sql.SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "SELECT COUNT(*) FROM journal WHERE file_key = ? AND state = ?")) {
      ps.setString(1, fileKey);
      ps.setString(2, state.sql());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** The object's size, as its entries record it (aliases name the same object). */
  private static long size(Jdbc db, String fileKey) throws java.sql.SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "SELECT COALESCE(MAX(file_size), 0) FROM journal WHERE file_key = ?")) {
      ps.setString(1, fileKey);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Adds to a state's totals in one statement: concurrent writers lose nothing. */
  private static void count(Jdbc db, State state, long objects, long bytes) throws java.sql.SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "UPDATE journal_totals SET objects = objects + ?, bytes = bytes + ? WHERE state = ?")) {
      ps.setLong(1, objects);
      ps.setLong(2, bytes);
      ps.setString(3, state.sql());
      ps.executeUpdate();
    }
  }

  /** Objects and stored bytes in a state: one row, kept as the journal changes. */
  public Totals totals(State state) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT objects, bytes FROM journal_totals WHERE state = ?")) {
        ps.setString(1, state.sql());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? new Totals(rs.getLong(1), rs.getLong(2)) : new Totals(0, 0);
        }
      }
    });
  }

  /** The same, counted from the entries (a scan): what the kept totals must always equal. */
  Totals totalsCounted(State state) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COUNT(*), COALESCE(SUM(file_size), 0) FROM (SELECT file_key, MAX(file_size) AS file_size "
              + "FROM journal WHERE state = ? GROUP BY file_key) AS objects")) {
        ps.setString(1, state.sql());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return new Totals(rs.getLong(1), rs.getLong(2));
        }
      }
    });
  }

  /**
   * Claims an S3 object for archiving by {@code worker} until {@code untilMillis}: true when no
   * other worker holds an unexpired claim on it. Several migrate workers sharing one catalog thus
   * never fetch and pack one object at once; a dead worker's claims expire.
   */
  public boolean claimObject(String fileKey, String worker, long nowMillis, long untilMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO migration_claims (file_key, worker, until_millis) VALUES (?, ?, ?) "
              + "ON CONFLICT (file_key) DO UPDATE SET worker = excluded.worker, until_millis = excluded.until_millis "
              + "WHERE migration_claims.worker = excluded.worker OR migration_claims.until_millis < ?")) {
        ps.setString(1, fileKey);
        ps.setString(2, worker);
        ps.setLong(3, untilMillis);
        ps.setLong(4, nowMillis);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /**
   * Whether {@code worker} still holds its claim on the object, extending it to {@code untilMillis}
   * if so: called right before a step that must not overlap another's (the drain's delete). A
   * claim that lapsed but that nobody took meanwhile is still held; one another worker took (or
   * took and gave up) is not.
   */
  public boolean stillHolds(String fileKey, String worker, long untilMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE migration_claims SET until_millis = ? WHERE file_key = ? AND worker = ?")) {
        ps.setLong(1, untilMillis);
        ps.setString(2, fileKey);
        ps.setString(3, worker);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /** Whether {@code worker} has the object's claim row (lapsed or not), inside the caller's transaction. */
  private static boolean holds(Jdbc db, String fileKey, String worker) throws java.sql.SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement(
        "SELECT 1 FROM migration_claims WHERE file_key = ? AND worker = ?")) {
      ps.setString(1, fileKey);
      ps.setString(2, worker);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Gives up a worker's claims on these objects (archived, rejected, or not taken after all). */
  public void releaseObjects(String worker, List<String> fileKeys) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM migration_claims WHERE file_key = ? AND worker = ?")) {
        for (String key : fileKeys) {
          ps.setString(1, key);
          ps.setString(2, worker);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }

  /** Extends every claim of a live worker to {@code untilMillis}. */
  public void renewClaims(String worker, long untilMillis) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE migration_claims SET until_millis = ? WHERE worker = ?")) {
        ps.setLong(1, untilMillis);
        ps.setString(2, worker);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Gives up every claim of a worker (at the end of its run). */
  public void releaseAll(String worker) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("DELETE FROM migration_claims WHERE worker = ?")) {
        ps.setString(1, worker);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * Enters another store path naming an object already in the journal, inside the alias's
   * transaction (called by {@link NarIndex}): {@link State#RESTORED} in the bucket the object's
   * restored entries name when it has any (it is in S3 again, and a new entry must not make the
   * drain take it out), otherwise {@link State#COMMITTED} as {@link #commit} enters it.
   */
  static void enterAlias(Jdbc db, Entry alias, long nowMillis) throws java.sql.SQLException {
    if (!has(db, alias.fileKey(), State.RESTORED)) {
      commit(db, alias.packId(), List.of(alias), nowMillis);
      return;
    }
    // The object is counted in RESTORED already: its totals do not change.
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO journal (store_hash, file_key, pack_id, file_size, state, updated_millis, restored_to) "
            + "SELECT ?, ?, ?, ?, 'restored', ?, MAX(restored_to) FROM journal WHERE file_key = ? AND state = 'restored' "
            + "ON CONFLICT (store_hash) DO NOTHING")) {
      ps.setString(1, alias.storeHash());
      ps.setString(2, alias.fileKey());
      ps.setString(3, alias.packId().hex());
      ps.setLong(4, alias.fileSize());
      ps.setLong(5, nowMillis);
      ps.setString(6, alias.fileKey());
      ps.executeUpdate();
    }
  }

  /**
   * Inserts COMMITTED entries, and counts each object new to that state in the totals; inside the
   * pack's transaction (called by {@link Catalog}).
   */
  static void commit(Jdbc db, PackId packId, List<Entry> entries, long nowMillis) throws java.sql.SQLException {
    // The objects with no COMMITTED entry before this commit: those it may add to that state.
    java.util.Set<String> newObjects = new java.util.LinkedHashSet<>();
    for (Entry e : entries) {
      if (!newObjects.contains(e.fileKey()) && !has(db, e.fileKey(), State.COMMITTED)) {
        newObjects.add(e.fileKey());
      }
    }
    try (PreparedStatement ps = db.connection().prepareStatement(
        "INSERT INTO journal (store_hash, file_key, pack_id, file_size, state, updated_millis) "
            + "VALUES (?, ?, ?, ?, 'committed', ?) ON CONFLICT (store_hash) DO NOTHING")) {
      for (Entry e : entries) {
        ps.setString(1, e.storeHash());
        ps.setString(2, e.fileKey());
        ps.setString(3, packId.hex());
        ps.setLong(4, e.fileSize());
        ps.setLong(5, nowMillis);
        ps.addBatch();
      }
      ps.executeBatch();
    }
    // An object counts in COMMITTED once one of its entries is there (an entry that already
    // existed, in whatever state, was left alone: ON CONFLICT).
    long objects = 0;
    long bytes = 0;
    for (String fileKey : newObjects) {
      if (has(db, fileKey, State.COMMITTED)) {
        objects++;
        bytes += size(db, fileKey);
      }
    }
    if (objects > 0) {
      count(db, State.COMMITTED, objects, bytes);
    }
  }
}
