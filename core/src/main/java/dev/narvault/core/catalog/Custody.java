package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.holder.HolderId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Fragment custody, repair's part of the catalog: which packs may need repair and their shape,
 * committing a repair, copies found corrupt, holders leaving, what each holder is counted to
 * store, copies to audit or move, reviving a copy that passed its audit, and the garbage to delete
 * from holders.
 *
 * <p>The garbage stays here, though it also covers document copies ({@link Documents}) and
 * placement orders ({@link PlacementOrders}), because it is one decision over all three, taken in
 * one call: an expired order is garbage only when no fragment row or document copy took it up,
 * and nothing a holder still stores is garbage. Claims on packs are {@link RepairClaims};
 * {@link #commitRepair} checks and ends one in its transaction.
 */
public final class Custody {
  private final Jdbc db;

  Custody(Jdbc db) {
    this.db = db;
  }

  /**
   * A copy to delete from a holder: a fragment row that is not stored, an unused placement order,
   * or a document copy that is not stored.
   */
  public record Garbage(PackId packId, int fragmentIndex, String fragmentId, HolderId holderId, String endpoint,
      Kind kind) {
    /** Where the garbage is recorded. */
    public enum Kind { FRAGMENT, ORDER, DOCUMENT }

    public boolean order() {
      return kind == Kind.ORDER;
    }
  }

  /** A fragment repair rebuilt and placed. */
  public record Rebuilt(int fragmentIndex, String fragmentId, HolderId holderId) {}

  /**
   * The packs that may be degraded: those with a fragment on one of {@code unhealthyHolders}
   * (offline, suspect, exiting) or a fragment row that is not stored. Every other pack has all its
   * fragments stored on healthy holders. Uses the by-holder and by-state indexes, never a scan.
   */
  public List<PackId> packsToCheck(Collection<HolderId> unhealthyHolders) throws CatalogException {
    return db.locked(() -> {
      TreeSet<String> packs = new TreeSet<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT DISTINCT pack_id FROM fragments WHERE holder_id = ?")) {
        for (HolderId holder : unhealthyHolders) {
          ps.setString(1, holder.value());
          Jdbc.collect(ps, packs);
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT DISTINCT pack_id FROM fragments WHERE state <> 'stored'")) {
        Jdbc.collect(ps, packs);
      }
      return packs.stream().map(PackId::new).toList();
    });
  }

  /** A pack's code and size, without parsing its manifest; none for a retired pack (see {@link #shape}). */
  public record PackShape(PackId packId, int dataFragmentCount, int parityFragmentCount, long packLength) {}

  /**
   * The pack's shape; empty when the pack is not recorded or is retired (rewritten, {@link
   * PackRecords#commitRewrite}): repair skips such a pack, and garbage collection needs no copy of it.
   */
  public Optional<PackShape> shape(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT data_fragments, parity_fragments, pack_length FROM packs WHERE pack_id = ? "
              + "AND retired_millis IS NULL")) {
        ps.setString(1, packId.hex());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new PackShape(packId, rs.getInt(1), rs.getInt(2), rs.getLong(3)))
              : Optional.empty();
        }
      }
    });
  }

  /** Pack ids in order, after {@code after} (exclusive), at most {@code limit}: for paging through all packs. */
  public List<PackId> packIds(String after, int limit) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT pack_id FROM packs WHERE pack_id > ? ORDER BY pack_id LIMIT ?")) {
        ps.setString(1, after);
        ps.setInt(2, limit);
        List<String> list = new ArrayList<>();
        Jdbc.collect(ps, list);
        return list.stream().map(PackId::new).toList();
      }
    });
  }

  public long packCount() throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("SELECT COUNT(*) FROM packs");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  /**
   * Commits a repair in one transaction: the rebuilt fragments become stored placements, and every
   * other copy of their indexes that is still marked stored becomes superseded (to be deleted when
   * its holder is reachable). Refused, with nothing changed, when {@code owner} no longer holds
   * the pack's claim (it expired and another worker took it).
   */
  public void commitRepair(PackId packId, String owner, List<Rebuilt> rebuilt) throws CatalogException {
    db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE packs SET claim_owner = NULL, claim_until_millis = 0 WHERE pack_id = ? AND claim_owner = ?")) {
        ps.setString(1, packId.hex());
        ps.setString(2, owner);
        if (ps.executeUpdate() != 1) {
          throw new SQLException("repair of pack " + packId + " lost its claim; not committed");
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE fragments SET state = 'superseded' WHERE pack_id = ? AND fragment_index = ? AND state = 'stored'")) {
        for (Rebuilt r : rebuilt) {
          ps.setString(1, packId.hex());
          ps.setInt(2, r.fragmentIndex());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO fragments (pack_id, fragment_index, fragment_id, holder_id, state) VALUES (?, ?, ?, ?, 'stored') "
              + "ON CONFLICT (pack_id, fragment_index, holder_id) DO UPDATE SET state = 'stored'")) {
        for (Rebuilt r : rebuilt) {
          ps.setString(1, packId.hex());
          ps.setInt(2, r.fragmentIndex());
          ps.setString(3, r.fragmentId());
          ps.setString(4, r.holderId().value());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      return null;
    }));
  }

  /** A verified read found a holder's copy of a fragment corrupt (or missing): it no longer counts. */
  public void markCorrupt(PackId packId, int fragmentIndex, HolderId holderId) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE fragments SET state = 'corrupt' WHERE pack_id = ? AND fragment_index = ? AND holder_id = ? "
              + "AND state = 'stored'")) {
        ps.setString(1, packId.hex());
        ps.setInt(2, fragmentIndex);
        ps.setString(3, holderId.value());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * What to delete from holders now: fragment rows not stored (superseded, corrupt), and orders
   * that expired before {@code ordersExpiredBefore} without a committed placement; each only on a
   * holder in {@code reachable}, and never a fragment id that holder also stores for a pack.
   * Orders that did commit are forgotten here.
   */
  public List<Garbage> garbage(Collection<HolderId> reachable, long ordersExpiredBefore, int limit)
      throws CatalogException {
    return garbage(reachable, ordersExpiredBefore, limit, "");
  }

  /**
   * The same, each holder's fragment rows taken from pack id {@code fromPackId} on, wrapping
   * around: a collector that starts each round somewhere else (pack ids are hashes) is not stuck
   * on the first {@code limit} rows when those must be kept (their packs are not whole yet).
   */
  public List<Garbage> garbage(Collection<HolderId> reachable, long ordersExpiredBefore, int limit, String fromPackId)
      throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM placement_orders WHERE expires_millis < ? AND (EXISTS (SELECT 1 FROM fragments f "
              + "WHERE f.fragment_id = placement_orders.fragment_id AND f.holder_id = placement_orders.holder_id) "
              + "OR EXISTS (SELECT 1 FROM document_copies d WHERE d.doc_id = placement_orders.fragment_id "
              + "AND d.holder_id = placement_orders.holder_id))")) {
        ps.setLong(1, ordersExpiredBefore);
        ps.executeUpdate();
      }
      List<Garbage> list = new ArrayList<>();
      String fragmentRows = "SELECT f.pack_id, f.fragment_index, f.fragment_id, f.holder_id, h.endpoint "
          + "FROM fragments f JOIN holders h ON h.holder_id = f.holder_id WHERE f.holder_id = ? "
          + "AND f.state <> 'stored' AND f.pack_id %s ? ORDER BY f.pack_id, f.fragment_index LIMIT ?";
      try (PreparedStatement onward = db.connection().prepareStatement(fragmentRows.formatted(">="));
          PreparedStatement before = db.connection().prepareStatement(fragmentRows.formatted("<"));
          PreparedStatement docs = db.connection().prepareStatement(
              "SELECT d.doc_id, c.holder_id, h.endpoint, d.pack_id FROM document_copies c "
                  + "JOIN documents d ON d.doc_id = c.doc_id JOIN holders h ON h.holder_id = c.holder_id "
                  + "WHERE c.holder_id = ? AND c.state <> 'stored' ORDER BY d.doc_id LIMIT ?");
          PreparedStatement orders = db.connection().prepareStatement(
              "SELECT o.pack_id, o.fragment_id, o.holder_id, h.endpoint FROM placement_orders o "
                  + "JOIN holders h ON h.holder_id = o.holder_id WHERE o.holder_id = ? AND o.expires_millis < ? "
                  + "ORDER BY o.fragment_id LIMIT ?")) {
        // Only holders with anything to collect are asked about, from three small sets (rows not
        // stored, copies not stored, expired orders): a round costs what there is to collect, not
        // four queries for every holder there is.
        Set<String> withGarbage = new HashSet<>();
        try (PreparedStatement ps = db.connection().prepareStatement(
            "SELECT DISTINCT holder_id FROM fragments WHERE state <> 'stored' "
                + "UNION SELECT DISTINCT holder_id FROM document_copies WHERE state IN ('superseded', 'corrupt', 'unverified') "
                + "UNION SELECT DISTINCT holder_id FROM placement_orders WHERE expires_millis < ?")) {
          ps.setLong(1, ordersExpiredBefore);
          Jdbc.collect(ps, withGarbage);
        }
        for (HolderId h : reachable) {
          String holder = h.value();
          if (list.size() >= limit) {
            break;
          }
          if (!withGarbage.contains(holder)) {
            continue;
          }
          // Pack ids from fromPackId on, then those before it.
          for (PreparedStatement rows : List.of(onward, before)) {
            if (list.size() >= limit) {
              break;
            }
            rows.setString(1, holder);
            rows.setString(2, fromPackId);
            rows.setInt(3, limit - list.size());
            try (ResultSet rs = rows.executeQuery()) {
              while (rs.next() && list.size() < limit) {
                list.add(new Garbage(new PackId(rs.getString(1)), rs.getInt(2), rs.getString(3),
                    new HolderId(rs.getString(4)), rs.getString(5),
                    Garbage.Kind.FRAGMENT));
              }
            }
          }
          docs.setString(1, holder);
          docs.setInt(2, limit);
          try (ResultSet rs = docs.executeQuery()) {
            while (rs.next() && list.size() < limit) {
              list.add(new Garbage(new PackId(rs.getString(4)), -1, rs.getString(1), new HolderId(rs.getString(2)),
                  rs.getString(3),
                  Garbage.Kind.DOCUMENT));
            }
          }
          orders.setString(1, holder);
          orders.setLong(2, ordersExpiredBefore);
          orders.setInt(3, limit);
          try (ResultSet rs = orders.executeQuery()) {
            while (rs.next() && list.size() < limit) {
              list.add(new Garbage(new PackId(rs.getString(1)), -1, rs.getString(2), new HolderId(rs.getString(3)),
                  rs.getString(4),
                  Garbage.Kind.ORDER));
            }
          }
        }
      }
      List<Garbage> safe = new ArrayList<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM fragments WHERE holder_id = ? AND fragment_id = ? AND state = 'stored' "
              + "UNION ALL SELECT 1 FROM document_copies WHERE holder_id = ? AND doc_id = ? AND state = 'stored'")) {
        for (Garbage g : list) {
          ps.setString(1, g.holderId().value());
          ps.setString(2, g.fragmentId());
          ps.setString(3, g.holderId().value());
          ps.setString(4, g.fragmentId());
          try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
              safe.add(g);
            } else {
              forgetNow(g);
            }
          }
        }
      }
      return safe;
    });
  }

  /**
   * Whether a piece of garbage found earlier is garbage still, read now: its holder stores that
   * fragment (or document) id for no pack, and its row is still there and not stored (a fragment
   * or document copy), or its order is still expired before {@code ordersExpiredBefore}. False
   * once another round collected it, or once it counts again (revived after an audit, committed
   * by a repair or a worker, ordered anew): a DELETE then would remove a copy a pack counts on.
   */
  public boolean stillGarbage(Garbage g, long ordersExpiredBefore) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT 1 FROM fragments WHERE holder_id = ? AND fragment_id = ? AND state = 'stored' "
              + "UNION ALL SELECT 1 FROM document_copies WHERE holder_id = ? AND doc_id = ? AND state = 'stored'")) {
        ps.setString(1, g.holderId().value());
        ps.setString(2, g.fragmentId());
        ps.setString(3, g.holderId().value());
        ps.setString(4, g.fragmentId());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            return false;
          }
        }
      }
      String row = switch (g.kind()) {
        case FRAGMENT -> "SELECT 1 FROM fragments WHERE pack_id = ? AND fragment_index = ? AND holder_id = ? "
            + "AND fragment_id = ? AND state <> 'stored'";
        case DOCUMENT -> "SELECT 1 FROM document_copies WHERE doc_id = ? AND holder_id = ? AND state <> 'stored'";
        case ORDER -> "SELECT 1 FROM placement_orders WHERE fragment_id = ? AND holder_id = ? AND expires_millis < ?";
      };
      try (PreparedStatement ps = db.connection().prepareStatement(row)) {
        switch (g.kind()) {
          case FRAGMENT -> {
            ps.setString(1, g.packId().hex());
            ps.setInt(2, g.fragmentIndex());
            ps.setString(3, g.holderId().value());
            ps.setString(4, g.fragmentId());
          }
          case DOCUMENT -> {
            ps.setString(1, g.fragmentId());
            ps.setString(2, g.holderId().value());
          }
          case ORDER -> {
            ps.setString(1, g.fragmentId());
            ps.setString(2, g.holderId().value());
            ps.setLong(3, ordersExpiredBefore);
          }
        }
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  /**
   * Forgets a copy its holder just deleted on this coordinator's order, whatever its row says
   * now: a row that became {@code stored} since the copy was judged garbage (an audit passing it,
   * a document copy placed there again) would count a copy that is gone. Forgetting a copy that
   * is still there only costs a surplus rebuild; counting one that is not can cost the pack.
   */
  public void forgetDeleted(Garbage g) throws CatalogException {
    db.locked(() -> {
      String sql = switch (g.kind()) {
        case DOCUMENT -> "DELETE FROM document_copies WHERE doc_id = ? AND holder_id = ?";
        case ORDER -> "DELETE FROM placement_orders WHERE fragment_id = ? AND holder_id = ?";
        case FRAGMENT -> "DELETE FROM fragments WHERE fragment_id = ? AND holder_id = ? AND pack_id = ? "
            + "AND fragment_index = ?";
      };
      try (PreparedStatement ps = db.connection().prepareStatement(sql)) {
        ps.setString(1, g.fragmentId());
        ps.setString(2, g.holderId().value());
        if (g.kind() == Garbage.Kind.FRAGMENT) {
          ps.setString(3, g.packId().hex());
          ps.setInt(4, g.fragmentIndex());
        }
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** Forgets a piece of garbage once its holder deleted it (or said it never had it). */
  public void forget(Garbage g) throws CatalogException {
    db.locked(() -> {
      forgetNow(g);
      return null;
    });
  }

  private void forgetNow(Garbage g) throws SQLException {
    if (g.kind() == Garbage.Kind.DOCUMENT) {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM document_copies WHERE doc_id = ? AND holder_id = ? AND state <> 'stored'")) {
        ps.setString(1, g.fragmentId());
        ps.setString(2, g.holderId().value());
        ps.executeUpdate();
      }
    } else if (g.order()) {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM placement_orders WHERE fragment_id = ? AND holder_id = ?")) {
        ps.setString(1, g.fragmentId());
        ps.setString(2, g.holderId().value());
        ps.executeUpdate();
      }
    } else {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "DELETE FROM fragments WHERE pack_id = ? AND fragment_index = ? AND holder_id = ? AND state <> 'stored'")) {
        ps.setString(1, g.packId().hex());
        ps.setInt(2, g.fragmentIndex());
        ps.setString(3, g.holderId().value());
        ps.executeUpdate();
      }
    }
  }

  /** A holder announced it is leaving: repair moves its fragments elsewhere. */
  public void markExiting(HolderId holderId) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET state = 'exiting' WHERE holder_id = ?")) {
        ps.setString(1, holderId.value());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** How many fragments the catalog counts as stored on a holder. */
  public long storedFragments(HolderId holderId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COUNT(*) FROM fragments WHERE holder_id = ? AND state = 'stored'")) {
        ps.setString(1, holderId.value());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }
    });
  }

  /**
   * The bytes the catalog itself counts on each holder: every stored or unverified fragment
   * ({@code ⌈pack length / k⌉} bytes each) and every stored copy of a signed document. This, not
   * what a holder reports, is what rebalancing and placement believe: a holder cannot shed
   * fragments (and cause repair traffic) by reporting itself full, nor draw more than its
   * capacity by reporting itself empty. One aggregate over the copies; callers run it once a
   * round, not per decision.
   */
  public java.util.Map<HolderId, Long> countedBytesByHolder() throws CatalogException {
    return db.locked(() -> {
      java.util.Map<HolderId, Long> bytes = new java.util.HashMap<>();
      try (PreparedStatement ps = db.connection().prepareStatement("""
          SELECT f.holder_id, SUM((p.pack_length + p.data_fragments - 1) / p.data_fragments)
          FROM fragments f JOIN packs p ON p.pack_id = f.pack_id
          WHERE f.state IN ('stored', 'unverified') GROUP BY f.holder_id""");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          bytes.merge(new HolderId(rs.getString(1)), rs.getLong(2), Long::sum);
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement("""
          SELECT c.holder_id, SUM(COALESCE(LENGTH(d.body), LENGTH(p.signed_manifest), 0))
          FROM document_copies c JOIN documents d ON d.doc_id = c.doc_id
          LEFT JOIN packs p ON d.kind = 'manifest' AND p.pack_id = d.pack_id
          WHERE c.state = 'stored' GROUP BY c.holder_id""");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          bytes.merge(new HolderId(rs.getString(1)), rs.getLong(2), Long::sum);
        }
      }
      return bytes;
    });
  }

  /**
   * A copy on this holder to audit, picked by a random fragment id {@code fromHex}: the first
   * stored or unverified one at or after it, wrapping around (fragment ids are hashes, so this is
   * close to uniform). Uses the (holder, fragment id) index.
   */
  public Optional<FragmentPlacement> auditableFragmentNear(HolderId holderId, String fromHex) throws CatalogException {
    return fragmentNear(holderId, fromHex, "state IN ('stored', 'unverified')");
  }

  /** As {@link #auditableFragmentNear}, stored copies only (what rebalancing moves). */
  public Optional<FragmentPlacement> storedFragmentNear(HolderId holderId, String fromHex) throws CatalogException {
    return fragmentNear(holderId, fromHex, "state = 'stored'");
  }

  private Optional<FragmentPlacement> fragmentNear(HolderId holderId, String fromHex, String stateCondition)
      throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT pack_id, fragment_index, fragment_id, holder_id, state FROM fragments "
              + "WHERE holder_id = ? AND fragment_id >= ? AND " + stateCondition + " ORDER BY fragment_id LIMIT 1")) {
        for (String from : List.of(fromHex, "")) {
          ps.setString(1, holderId.value());
          ps.setString(2, from);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              return Optional.of(new FragmentPlacement(new PackId(rs.getString(1)), rs.getInt(2), rs.getString(3),
                  new HolderId(rs.getString(4)), "", FragmentState.parse(rs.getString(5))));
            }
          }
        }
      }
      return Optional.empty();
    });
  }

  /**
   * A superseded or unverified copy that just passed an audit counts again: it becomes the stored
   * copy of its index, and other copies of that index still marked stored become superseded
   * (surplus, kept until the pack is whole without them). False when the row is gone or corrupt.
   */
  public boolean revive(PackId packId, int fragmentIndex, HolderId holderId) throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE fragments SET state = 'stored' WHERE pack_id = ? AND fragment_index = ? AND holder_id = ? "
              + "AND state IN ('superseded', 'unverified', 'stored') AND NOT EXISTS (SELECT 1 FROM packs p "
              + "WHERE p.pack_id = fragments.pack_id AND p.retired_millis IS NOT NULL)")) {
        ps.setString(1, packId.hex());
        ps.setInt(2, fragmentIndex);
        ps.setString(3, holderId.value());
        if (ps.executeUpdate() != 1) {
          return false;
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE fragments SET state = 'superseded' WHERE pack_id = ? AND fragment_index = ? AND holder_id <> ? "
              + "AND state = 'stored'")) {
        ps.setString(1, packId.hex());
        ps.setInt(2, fragmentIndex);
        ps.setString(3, holderId.value());
        ps.executeUpdate();
      }
      return true;
    }));
  }

  /** A holder found a fragment corrupt and quarantined it: it no longer counts as stored there. */
  public void recordScrubReport(HolderId holderId, String fragmentId, long nowMillis) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO scrub_reports (holder_id, fragment_id, at_millis) VALUES (?, ?, ?)")) {
        ps.setString(1, holderId.value());
        ps.setString(2, fragmentId);
        ps.setLong(3, nowMillis);
        ps.executeUpdate();
      }
      for (String table : List.of("fragments", "document_copies")) {
        String column = table.equals("fragments") ? "fragment_id" : "doc_id";
        try (PreparedStatement ps = db.connection().prepareStatement(
            "UPDATE " + table + " SET state = 'corrupt' WHERE holder_id = ? AND " + column + " = ? "
                + "AND state IN ('stored', 'superseded', 'unverified')")) {
          ps.setString(1, holderId.value());
          ps.setString(2, fragmentId);
          ps.executeUpdate();
        }
      }
      return null;
    });
  }
}
