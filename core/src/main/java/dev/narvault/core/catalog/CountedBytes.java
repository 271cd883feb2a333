package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The bytes the catalog counts on each holder ({@link Custody#countedBytesByHolder}), as last
 * taken. Taking them is one aggregate over every fragment row (minutes at the cache's size), so
 * one coordinator takes them now and then and saves them here, and every coordinator reads them
 * (placement keeps holders from overfilling with them; rebalancing moves fragments off holders
 * nearly full by them).
 */
public final class CountedBytes {
  private final Jdbc db;

  CountedBytes(Jdbc db) {
    this.db = db;
  }

  /** Replaces what was saved with these counts, taken at {@code countedMillis}, in one transaction. */
  public void save(Map<HolderId, Long> bytesByHolder, long countedMillis) throws CatalogException {
    db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("DELETE FROM counted_bytes")) {
        ps.executeUpdate();
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO counted_bytes (holder_id, bytes, counted_millis) VALUES (?, ?, ?)")) {
        for (Map.Entry<HolderId, Long> e : bytesByHolder.entrySet()) {
          ps.setString(1, e.getKey().value());
          ps.setLong(2, e.getValue());
          ps.setLong(3, countedMillis);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    }));
  }

  /** The counts last saved, by holder (none before the first count). */
  public Map<HolderId, Long> read() throws CatalogException {
    return db.locked(() -> {
      Map<HolderId, Long> bytes = new HashMap<>();
      try (PreparedStatement ps = db.connection().prepareStatement("SELECT holder_id, bytes FROM counted_bytes");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          bytes.put(new HolderId(rs.getString(1)), rs.getLong(2));
        }
      }
      return bytes;
    });
  }
}
