package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.util.List;

/**
 * The placement orders the coordinator handed out: which fragment (or document) it told which
 * holder to accept, and until when. A worker that dies after uploading but before committing
 * leaves fragments no pack names; remembering the orders lets garbage collection delete them once
 * the orders expire. Reading and forgetting expired orders is part of {@link Custody#garbage},
 * which weighs them against the fragment rows and document copies in the same call.
 */
public final class PlacementOrders {
  private final Jdbc db;

  PlacementOrders(Jdbc db) {
    this.db = db;
  }

  /** Remembers placement orders handed out, so fragments whose placement never commits can be collected. */
  public void recordOrders(PackId packId, List<String> fragmentIds, List<HolderId> holderIds, long expiresMillis)
      throws CatalogException {
    if (fragmentIds.size() != holderIds.size()) {
      throw new IllegalArgumentException("one holder per fragment: " + fragmentIds.size() + " vs " + holderIds.size());
    }
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO placement_orders (fragment_id, holder_id, pack_id, expires_millis) VALUES (?, ?, ?, ?) "
              + "ON CONFLICT (fragment_id, holder_id) DO UPDATE SET expires_millis = excluded.expires_millis")) {
        for (int i = 0; i < fragmentIds.size(); i++) {
          ps.setString(1, fragmentIds.get(i));
          ps.setString(2, holderIds.get(i).value());
          ps.setString(3, packId.hex());
          ps.setLong(4, expiresMillis);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    });
  }
}
