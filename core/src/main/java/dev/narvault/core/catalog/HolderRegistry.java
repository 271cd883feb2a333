package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.holder.HolderId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The catalog's holder registry: identities, heartbeats, proofs of reach, and reputation.
 *
 * <p>Every reputation change is one {@code UPDATE} whose new values are computed from the row's
 * current ones in SQL, never read first and written back: several coordinators on one PostgreSQL
 * lose no update (the row lock serialises them, each applying its change to the other's result).
 */
public final class HolderRegistry {
  private static final String COLUMNS = "holder_id, endpoint, public_key, capacity_bytes, used_bytes, "
      + "fragment_count, version, operator, location, last_seen_millis, audit_state, seen_address, registered_millis, "
      + "audit_alpha, audit_beta, state, reached_millis, suspension_alpha, suspension_beta, audits_passed, "
      + "away_until_millis, away_allowance_millis, away_allowance_at_millis";

  private final Jdbc db;

  HolderRegistry(Jdbc db) {
    this.db = db;
  }

  /**
   * Registers a holder by its identity, or updates its details. Refused (false) when the message
   * is not newer than the last one accepted from this holder: a replay. A re-registration updates
   * what the holder says about itself and its proven address, never its history (first
   * registration, reputation, exiting).
   */
  /**
   * SQL: the holder row's suspension score is not below {@link SuspensionScore#SUSPENDED_BELOW}.
   * A proof (or a registration, which proves) refreshes reach only then: a suspended holder is
   * reached when it serves data again (an audit passes), so one that answers proofs but no reads
   * goes offline after {@code --offline-after} and its fragments are rebuilt elsewhere.
   */
  private static final String NOT_SUSPENDED = "holders.suspension_alpha >= " + SuspensionScore.SUSPENDED_BELOW
      + " * (holders.suspension_alpha + holders.suspension_beta)";

  public boolean register(HolderRecord holder, long messageMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO holders (holder_id, endpoint, state, last_seen_millis, public_key, capacity_bytes, used_bytes, "
              + "fragment_count, version, operator, location, last_message_millis, audit_state, seen_address, "
              + "registered_millis, reached_millis, audit_alpha, audit_beta, suspension_alpha, suspension_beta) "
              + "VALUES (?, ?, 'online', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?, 0, ?, 0) "
              + "ON CONFLICT (holder_id) DO UPDATE SET endpoint = excluded.endpoint, "
              + "last_seen_millis = excluded.last_seen_millis, public_key = excluded.public_key, "
              + "capacity_bytes = excluded.capacity_bytes, used_bytes = excluded.used_bytes, "
              + "fragment_count = excluded.fragment_count, version = excluded.version, operator = excluded.operator, "
              + "location = excluded.location, last_message_millis = excluded.last_message_millis, "
              + "seen_address = excluded.seen_address, reached_millis = CASE WHEN " + NOT_SUSPENDED
              + " THEN excluded.reached_millis ELSE holders.reached_millis END "
              + "WHERE holders.last_message_millis < excluded.last_message_millis")) {
        ps.setString(1, holder.holderId().value());
        ps.setString(2, holder.endpoint());
        ps.setLong(3, holder.lastSeenMillis());
        ps.setString(4, holder.publicKey().orElse(null));
        ps.setLong(5, holder.capacityBytes());
        ps.setLong(6, holder.usedBytes());
        ps.setInt(7, holder.fragmentCount());
        ps.setString(8, holder.version());
        ps.setString(9, holder.operator());
        ps.setString(10, holder.location());
        ps.setLong(11, messageMillis);
        ps.setString(12, holder.seenAddress());
        ps.setLong(13, holder.registeredMillis());
        ps.setLong(14, holder.reachedMillis());
        // A fresh record, as if it had passed forever (the column defaults predate the current model).
        ps.setDouble(15, AuditScore.NEW.alpha());
        ps.setDouble(16, SuspensionScore.NEW.alpha());
        return ps.executeUpdate() == 1;
      }
    });
  }

  /** Records a heartbeat; false when it is not newer than the last message (a replay). */
  public boolean heartbeat(HolderId holderId, long usedBytes, int fragmentCount, String version, long messageMillis,
      long nowMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET used_bytes = ?, fragment_count = ?, version = ?, last_message_millis = ?, "
              + "last_seen_millis = ? WHERE holder_id = ? AND last_message_millis < ?")) {
        ps.setLong(1, usedBytes);
        ps.setInt(2, fragmentCount);
        ps.setString(3, version);
        ps.setLong(4, messageMillis);
        ps.setLong(5, nowMillis);
        ps.setString(6, holderId.value());
        ps.setLong(7, messageMillis);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /**
   * Accepts a signed holder message by its timestamp: true, and remembered, only when it is newer
   * than every message accepted from that holder before (so none can be replayed).
   */
  public boolean acceptMessage(HolderId holderId, long messageMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET last_message_millis = ? WHERE holder_id = ? AND last_message_millis < ?")) {
        ps.setLong(1, messageMillis);
        ps.setString(2, holderId.value());
        ps.setLong(3, messageMillis);
        return ps.executeUpdate() == 1;
      }
    });
  }

  public Optional<HolderRecord> holder(HolderId holderId) throws CatalogException {
    return holders("WHERE holder_id = ?", holderId.value()).stream().findFirst();
  }

  public List<HolderRecord> holders() throws CatalogException {
    return holders("", null);
  }

  /** The holders with any row (in any state) of one pack: what judging that pack needs, read in one query. */
  public List<HolderRecord> holdersOf(PackId packId) throws CatalogException {
    return holders("WHERE holder_id IN (SELECT holder_id FROM fragments WHERE pack_id = ?)", packId.hex());
  }

  private List<HolderRecord> holders(String where, String arg) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT " + COLUMNS + " FROM holders " + where + " ORDER BY holder_id")) {
        if (arg != null) {
          ps.setString(1, arg);
        }
        List<HolderRecord> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new HolderRecord(new HolderId(rs.getString(1)), rs.getString(2), Optional.ofNullable(rs.getString(3)),
                rs.getLong(4), rs.getLong(5), rs.getInt(6), rs.getString(7), rs.getString(8), rs.getString(9),
                rs.getLong(10), AuditState.parse(rs.getString(11)), rs.getString(12), rs.getLong(13),
                new AuditScore(rs.getDouble(14), rs.getDouble(15)), HolderStatus.parse(rs.getString(16)),
                rs.getLong(17), new SuspensionScore(rs.getDouble(18), rs.getDouble(19)), rs.getLong(20),
                HolderAway.read(rs.getLong(21), rs.getLong(22), rs.getLong(23))));
          }
        }
        return list;
      }
    });
  }

  /**
   * Records an audit of one fragment: the holder's {@link AuditScore} moves (in one statement),
   * its standing follows the score (a disqualification is for good), and the holder counts as
   * reached, since it answered. A pass also counts as an answer for its {@link SuspensionScore}.
   * A failed audit also marks that fragment corrupt on that holder.
   *
   * @return the holder's score after this audit
   */
  public AuditScore recordAudit(HolderId holderId, String fragmentId, boolean passed, String detail, long nowMillis)
      throws CatalogException {
    return db.locked(() -> db.inTransaction(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET audit_alpha = audit_alpha * ? + ?, audit_beta = audit_beta * ? + ?, "
              + "audits_passed = audits_passed + ?, reached_millis = ?, "
              + "suspension_alpha = CASE WHEN ? = 1 THEN suspension_alpha * ? + 1 ELSE suspension_alpha END, "
              + "suspension_beta = CASE WHEN ? = 1 THEN suspension_beta * ? ELSE suspension_beta END "
              + "WHERE holder_id = ?")) {
        ps.setDouble(1, AuditScore.FORGET);
        ps.setDouble(2, passed ? 1 : 0);
        ps.setDouble(3, AuditScore.FORGET);
        ps.setDouble(4, passed ? 0 : 1);
        ps.setInt(5, passed ? 1 : 0);
        ps.setLong(6, nowMillis);
        // A passed audit is data served: honest trouble before it is forgiven a little.
        ps.setInt(7, passed ? 1 : 0);
        ps.setDouble(8, SuspensionScore.FORGET);
        ps.setInt(9, passed ? 1 : 0);
        ps.setDouble(10, SuspensionScore.FORGET);
        ps.setString(11, holderId.value());
        if (ps.executeUpdate() != 1) {
          throw new SQLException("no holder " + holderId);
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET audit_state = CASE WHEN audit_state = ? THEN audit_state "
              + "WHEN audit_alpha < ? * (audit_alpha + audit_beta) THEN ? "
              + "WHEN audit_alpha < ? * (audit_alpha + audit_beta) THEN ? ELSE ? END WHERE holder_id = ?")) {
        ps.setString(1, AuditState.DISQUALIFIED.sql());
        ps.setDouble(2, AuditScore.DISQUALIFIED_BELOW);
        ps.setString(3, AuditState.DISQUALIFIED.sql());
        ps.setDouble(4, AuditScore.SUSPECT_BELOW);
        ps.setString(5, AuditState.SUSPECT.sql());
        ps.setString(6, AuditState.OK.sql());
        ps.setString(7, holderId.value());
        ps.executeUpdate();
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO audit_results (holder_id, fragment_id, at_millis, passed, detail) VALUES (?, ?, ?, ?, ?)")) {
        ps.setString(1, holderId.value());
        ps.setString(2, fragmentId);
        ps.setLong(3, nowMillis);
        ps.setInt(4, passed ? 1 : 0);
        ps.setString(5, detail.length() > 500 ? detail.substring(0, 500) : detail);
        ps.executeUpdate();
      }
      if (!passed) {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "UPDATE fragments SET state = 'corrupt' WHERE holder_id = ? AND fragment_id = ? "
                + "AND state IN ('stored', 'superseded', 'unverified')")) {
          ps.setString(1, holderId.value());
          ps.setString(2, fragmentId);
          ps.executeUpdate();
        }
      } else {
        // A copy restored by a catalog rebuild counts once it has passed an audit.
        try (PreparedStatement ps = db.connection().prepareStatement(
            "UPDATE fragments SET state = 'stored' WHERE holder_id = ? AND fragment_id = ? AND state = 'unverified'")) {
          ps.setString(1, holderId.value());
          ps.setString(2, fragmentId);
          ps.executeUpdate();
        }
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT audit_alpha, audit_beta FROM holders WHERE holder_id = ?")) {
        ps.setString(1, holderId.value());
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return new AuditScore(rs.getDouble(1), rs.getDouble(2));
        }
      }
    }));
  }

  /**
   * Records whether the coordinator reached a holder's endpoint (an answered audit, proof, read or
   * delete) or met honest trouble there (timeout, refusal, 5xx): the {@link SuspensionScore} moves
   * in one statement, and an answer also counts as reached now. (A holder away by its own word
   * and gone quiet is not contacted, so its absence costs it nothing; one that declared an
   * absence and is still up answers for what it does like any other.)
   */
  public SuspensionScore recordContact(HolderId holderId, boolean answered, long nowMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET suspension_alpha = suspension_alpha * ? + ?, "
              + "suspension_beta = suspension_beta * ? + ?, "
              + "reached_millis = CASE WHEN ? = 1 AND reached_millis < ? THEN ? ELSE reached_millis END "
              + "WHERE holder_id = ?")) {
        ps.setDouble(1, SuspensionScore.FORGET);
        ps.setDouble(2, answered ? 1 : 0);
        ps.setDouble(3, SuspensionScore.FORGET);
        ps.setDouble(4, answered ? 0 : 1);
        ps.setInt(5, answered ? 1 : 0);
        ps.setLong(6, nowMillis);
        ps.setLong(7, nowMillis);
        ps.setString(8, holderId.value());
        ps.executeUpdate();
      }
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT suspension_alpha, suspension_beta FROM holders WHERE holder_id = ?")) {
        ps.setString(1, holderId.value());
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? new SuspensionScore(rs.getDouble(1), rs.getDouble(2)) : SuspensionScore.NEW;
        }
      }
    });
  }

  /**
   * The coordinator proved the holder's key at its endpoint again, at {@code provenAddress}
   * (which may have changed: dynamic addresses): address updated, and reached now unless the
   * holder is suspended. A proof is not data served: it leaves the suspension score alone, so
   * a holder that answers proofs and fails every read is suspended, stops being reached, and
   * goes offline like one that cannot be reached at all. (A holder with nothing to audit has a
   * proof counted as an answer by the auditor, {@link #recordContact}.)
   */
  public void recordProof(HolderId holderId, String provenAddress, long nowMillis) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE holders SET seen_address = ?, reached_millis = CASE WHEN reached_millis < ? AND "
              + NOT_SUSPENDED + " THEN ? ELSE reached_millis END WHERE holder_id = ?")) {
        ps.setString(1, provenAddress);
        ps.setLong(2, nowMillis);
        ps.setLong(3, nowMillis);
        ps.setString(4, holderId.value());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * Records a holder's declared absence until {@code untilMillis} ({@code <= nowMillis}: it is back),
   * as {@link HolderAway#declare} computes it from the row's current value. Written only if the
   * row still holds the value it was computed from, so two coordinators cannot both spend the
   * same allowance; on a lost race it is computed again.
   *
   * @return the holder's absence after this declaration
   * @throws IllegalArgumentException when the absence is too long for the rules or the allowance
   */
  public HolderAway declareAway(HolderId holderId, long untilMillis, long nowMillis) throws CatalogException {
    for (int attempt = 0; ; attempt++) {
      HolderAway before = holder(holderId).orElseThrow(() -> new CatalogException("no holder " + holderId)).away();
      HolderAway after = before.declare(nowMillis, untilMillis);
      boolean written = db.locked(() -> {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "UPDATE holders SET away_until_millis = ?, away_allowance_millis = ?, away_allowance_at_millis = ? "
                + "WHERE holder_id = ? AND away_until_millis = ? AND away_allowance_millis = ? "
                + "AND away_allowance_at_millis = ?")) {
          ps.setLong(1, after.untilMillis());
          ps.setLong(2, after.allowanceMillis());
          ps.setLong(3, after.allowanceAtMillis());
          ps.setString(4, holderId.value());
          ps.setLong(5, before.untilMillis());
          ps.setLong(6, before.allowanceMillis());
          ps.setLong(7, before.allowanceAtMillis());
          return ps.executeUpdate() == 1;
        }
      });
      if (written) {
        return after;
      }
      if (attempt >= 10) {
        throw new CatalogException("holder " + holderId + "'s absence changed under every one of 10 attempts");
      }
    }
  }

  /**
   * Forgets audit results and scrub reports older than {@code beforeMillis}: history grows by one
   * row per audit (hundreds a holder a day) while what decides anything, the scores, lives in the
   * holder's row.
   *
   * @return rows deleted
   */
  public int pruneHistory(long beforeMillis) throws CatalogException {
    return db.locked(() -> {
      int deleted = 0;
      for (String table : List.of("audit_results", "scrub_reports")) {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "DELETE FROM " + table + " WHERE at_millis < ?")) {
          ps.setLong(1, beforeMillis);
          deleted += ps.executeUpdate();
        }
      }
      return deleted;
    });
  }

  /** Audit outcomes of one holder, oldest first: {@code passed} flags. */
  public List<Boolean> auditResults(HolderId holderId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT passed FROM audit_results WHERE holder_id = ? ORDER BY at_millis")) {
        ps.setString(1, holderId.value());
        List<Boolean> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(rs.getInt(1) == 1);
          }
        }
        return list;
      }
    });
  }
}
