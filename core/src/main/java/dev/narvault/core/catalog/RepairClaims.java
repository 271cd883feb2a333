package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;

/**
 * Claims on packs, so that several repair workers never repair or move one pack at once. An owner
 * claims a pack until a time, renews the claim while it works, and releases it; committing a
 * repair ({@link Custody#commitRepair}) also ends the claim, and is refused when the claim was
 * lost. A claim left by a worker that died expires.
 *
 * <p>Claims are a conditional {@code UPDATE} on the pack row: atomic on SQLite and on PostgreSQL
 * (where the row lock makes a second worker re-check the condition and find the claim taken), so
 * no {@code SELECT ... FOR UPDATE} is needed and the same SQL runs on both.
 */
public final class RepairClaims {
  private final Jdbc db;

  RepairClaims(Jdbc db) {
    this.db = db;
  }

  /**
   * Claims a pack for repair until {@code untilMillis}, unless another worker holds an unexpired
   * claim. A claim left by a worker that died expires and can be taken over.
   */
  public boolean claim(PackId packId, String owner, long nowMillis, long untilMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET claim_owner = ?, claim_until_millis = ? WHERE pack_id = ? "
              + "AND (claim_owner IS NULL OR claim_owner = ? OR claim_until_millis < ?)")) {
        ps.setString(1, owner);
        ps.setLong(2, untilMillis);
        ps.setString(3, packId.hex());
        ps.setString(4, owner);
        ps.setLong(5, nowMillis);
        return ps.executeUpdate() == 1;
      }
    });
  }

  public void release(PackId packId, String owner) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET claim_owner = NULL, claim_until_millis = 0 WHERE pack_id = ? AND claim_owner = ?")) {
        ps.setString(1, packId.hex());
        ps.setString(2, owner);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Renews a repair claim this owner holds; false when it lost it. */
  public boolean renewClaim(PackId packId, String owner, long untilMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET claim_until_millis = ? WHERE pack_id = ? AND claim_owner = ?")) {
        ps.setLong(1, untilMillis);
        ps.setString(2, packId.hex());
        ps.setString(3, owner);
        return ps.executeUpdate() == 1;
      }
    });
  }
}
