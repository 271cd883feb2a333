package dev.narvault.core.catalog;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * How far a migrate run's listing of the bucket got, so that a restarted run continues there
 * instead of listing from the start (at the cache's size a full listing is ~10^6 LIST requests).
 *
 * <p>A checkpoint belongs to a <em>scope</em>: a text naming what was listed and for what (the
 * bucket, the shard of store hashes, the selection), so that runs listing for something else
 * never share one. Its key is the last narinfo key up to which every key listed was fully
 * handled (archived and committed, found archived, or not selected): the next run passes it to
 * S3 as {@code StartAfter}. Saving replaces what was saved (the last writer wins: every saved
 * key is safe on its own); a run that lists to the end clears its scope's checkpoint, so that
 * the next run starts a new pass from the beginning.
 */
public final class ListingCheckpoints {
  private final Jdbc db;

  ListingCheckpoints(Jdbc db) {
    this.db = db;
  }

  /** The key to list after for this scope, if a run saved one and did not finish its pass. */
  public Optional<String> get(String scope) throws CatalogException {
    checkScope(scope);
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT after_key FROM listing_checkpoints WHERE scope = ?")) {
        ps.setString(1, scope);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** Every saved checkpoint: its key, by scope. */
  public Map<String, String> all() throws CatalogException {
    return db.locked(() -> {
      Map<String, String> all = new TreeMap<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT scope, after_key FROM listing_checkpoints");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          all.put(rs.getString(1), rs.getString(2));
        }
      }
      return all;
    });
  }

  /** Records that every key of this scope's listing up to {@code afterKey} is fully handled. */
  public void save(String scope, String afterKey, long nowMillis) throws CatalogException {
    checkScope(scope);
    if (afterKey == null || afterKey.isEmpty()) {
      throw new IllegalArgumentException("a listing checkpoint needs a key, got '" + afterKey + "' for " + scope);
    }
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO listing_checkpoints (scope, after_key, saved_millis) VALUES (?, ?, ?) "
              + "ON CONFLICT (scope) DO UPDATE SET after_key = excluded.after_key, "
              + "saved_millis = excluded.saved_millis")) {
        ps.setString(1, scope);
        ps.setString(2, afterKey);
        ps.setLong(3, nowMillis);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** The scope's pass is complete: the next run lists from the beginning. Repeating it is harmless. */
  public void clear(String scope) throws CatalogException {
    checkScope(scope);
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM listing_checkpoints WHERE scope = ?")) {
        ps.setString(1, scope);
        ps.executeUpdate();
      }
      return null;
    });
  }

  private static void checkScope(String scope) {
    if (scope == null || scope.isBlank()) {
      throw new IllegalArgumentException("a listing checkpoint needs a scope, got '" + scope + "'");
    }
  }
}
