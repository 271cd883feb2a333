package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies of last resort: fragment copies garbage collection had deleted, which their holders keep
 * in a trash for a while ({@code holder --trash-for}, 7 days by default). Remembered here until
 * then, so that if a pack falls short of k readable fragments meanwhile, repair can ask for them
 * back with signed {@code restore} orders. Garbage collection deletes a copy only when its pack
 * is whole without it, so this is for what happens after: several holders lost at once.
 */
public final class TrashedCopies {
  /** A copy its holder moved to its trash at {@code deletedMillis}. */
  public record Trashed(PackId packId, int fragmentIndex, String fragmentId, HolderId holderId, long deletedMillis) {}

  private final Jdbc db;

  TrashedCopies(Jdbc db) {
    this.db = db;
  }

  /** Remembers a trashed copy (again: the newer time wins). */
  public void record(Trashed t) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO trashed_copies (pack_id, fragment_index, fragment_id, holder_id, deleted_millis) "
              + "VALUES (?, ?, ?, ?, ?) ON CONFLICT (pack_id, fragment_index, holder_id) DO UPDATE SET "
              + "fragment_id = excluded.fragment_id, deleted_millis = excluded.deleted_millis")) {
        ps.setString(1, t.packId().hex());
        ps.setInt(2, t.fragmentIndex());
        ps.setString(3, t.fragmentId());
        ps.setString(4, t.holderId().value());
        ps.setLong(5, t.deletedMillis());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** The pack's trashed copies deleted at {@code sinceMillis} or later, by index. */
  public List<Trashed> of(PackId packId, long sinceMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT fragment_index, fragment_id, holder_id, deleted_millis FROM trashed_copies "
              + "WHERE pack_id = ? AND deleted_millis >= ? ORDER BY fragment_index, deleted_millis DESC")) {
        ps.setString(1, packId.hex());
        ps.setLong(2, sinceMillis);
        List<Trashed> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new Trashed(packId, rs.getInt(1), rs.getString(2), new HolderId(rs.getString(3)), rs.getLong(4)));
          }
        }
        return list;
      }
    });
  }

  /**
   * The copy is stored again (restored, and recorded as an unverified fragment row in the same
   * transaction, to count once it passes an audit — a row of another state for that index on that
   * holder, such as corrupt or superseded, becomes that row), or its holder no longer has it:
   * forgotten.
   *
   * @param restored whether the holder restored it (then its fragment row is recorded)
   */
  public void settle(Trashed t, boolean restored) throws CatalogException {
    db.locked(() -> db.inTransaction(() -> {
      if (restored) {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "INSERT INTO fragments (pack_id, fragment_index, fragment_id, holder_id, state) VALUES (?, ?, ?, ?, "
                + "'unverified') ON CONFLICT (pack_id, fragment_index, holder_id) DO UPDATE SET state = 'unverified', "
                + "fragment_id = excluded.fragment_id WHERE fragments.state <> 'stored'")) {
          ps.setString(1, t.packId().hex());
          ps.setInt(2, t.fragmentIndex());
          ps.setString(3, t.fragmentId());
          ps.setString(4, t.holderId().value());
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM trashed_copies WHERE pack_id = ? AND fragment_index = ? AND holder_id = ?")) {
        ps.setString(1, t.packId().hex());
        ps.setInt(2, t.fragmentIndex());
        ps.setString(3, t.holderId().value());
        ps.executeUpdate();
      }
      return null;
    }));
  }

  /** Forgets copies deleted before {@code beforeMillis} (their holders' trash has let them go); returns how many. */
  public int forgetOlderThan(long beforeMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM trashed_copies WHERE deleted_millis < ?")) {
        ps.setLong(1, beforeMillis);
        return ps.executeUpdate();
      }
    });
  }
}
