package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

/**
 * Packs a migrate worker is placing but has not committed: registered before the worker asks for
 * a placement, renewed while it uploads, confirms and commits, finished once the pack is
 * committed (or given up). Garbage collection collects the fragments of expired placement orders
 * that no committed pack names; it must also skip the orders of a pack still {@link #pending},
 * or a worker slower than the orders' lifetime would commit a pack whose fragments were deleted.
 *
 * <p>A worker that dies stops renewing: its packs are no longer pending once {@code untilMillis}
 * passes, and their fragments become garbage as before.
 */
public final class PendingPacks {
  private final Jdbc db;

  PendingPacks(Jdbc db) {
    this.db = db;
  }

  /**
   * Marks {@code packId} pending for {@code worker} until {@code untilMillis} (registering it, or
   * renewing it). A renewal never shortens what is recorded: another worker placing the same
   * pack (same content, same id) keeps it pending as long as either renews.
   */
  public void renew(PackId packId, String worker, long untilMillis) throws CatalogException {
    if (worker.isEmpty()) {
      throw new IllegalArgumentException("a pending pack needs a worker, got '" + worker + "' for pack '" + packId + "'");
    }
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO pending_packs (pack_id, worker, until_millis) VALUES (?, ?, ?) "
              + "ON CONFLICT (pack_id) DO UPDATE SET worker = excluded.worker, until_millis = CASE "
              + "WHEN pending_packs.until_millis > excluded.until_millis THEN pending_packs.until_millis "
              + "ELSE excluded.until_millis END")) {
        ps.setString(1, packId.hex());
        ps.setString(2, worker);
        ps.setLong(3, untilMillis);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * Extends {@code packId}'s mark to {@code untilMillis} if it is still alive at {@code nowMillis},
   * and says whether it was. A mark that lapsed is not revived: garbage collection may have
   * deleted the pack's fragments meanwhile, so its worker must not commit the pack (and learns so
   * from the answer). Like {@link #renew}, never shortens what is recorded.
   */
  public boolean extend(PackId packId, String worker, long untilMillis, long nowMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE pending_packs SET worker = ?, until_millis = CASE WHEN until_millis > ? THEN until_millis "
              + "ELSE ? END WHERE pack_id = ? AND until_millis >= ?")) {
        ps.setString(1, worker);
        ps.setLong(2, untilMillis);
        ps.setLong(3, untilMillis);
        ps.setString(4, packId.hex());
        ps.setLong(5, nowMillis);
        return ps.executeUpdate() > 0;
      }
    });
  }

  /** The pack is committed, or its worker gave it up: no longer pending. Repeating it is harmless. */
  public void finish(PackId packId) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("DELETE FROM pending_packs WHERE pack_id = ?")) {
        ps.setString(1, packId.hex());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Whether a worker is placing {@code packId} and renewed it to {@code nowMillis} or later. */
  public boolean pending(PackId packId, long nowMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM pending_packs WHERE pack_id = ? AND until_millis >= ?")) {
        ps.setString(1, packId.hex());
        ps.setLong(2, nowMillis);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }
}
