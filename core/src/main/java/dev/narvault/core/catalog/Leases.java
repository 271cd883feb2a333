package dev.narvault.core.catalog;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * Named leases on work that several coordinators share through one catalog, so that none of it
 * is done twice: a round that must not run twice at once, or twice in one interval ({@code gc},
 * {@code rebalance}, …), or one item of a round that coordinators spread among themselves (an
 * audit of one holder). The database is the only coordination point: no coordinator talks to
 * another.
 *
 * <p>A lease has an owner (a coordinator's stable name), a time it is held until, and a time its
 * work is next <em>due</em>. An owner {@linkplain #take takes} a lease when the work is due and
 * nobody else holds an unexpired lease on it, {@linkplain #renew renews} it while it works, and
 * {@linkplain #release releases} it naming when the work is next due (now, if it gave up). A
 * lease left by an owner that died expires and is taken over; its work was never marked done, so
 * it is still due. The same owner may take its own lease again (after a restart, at once).
 *
 * <p>Each change is one statement that compares and sets the row (an upsert whose update has a
 * condition; an update naming the owner): atomic on SQLite and on PostgreSQL, where the row lock
 * makes a second writer re-check the condition and find the lease taken. Times are the owners'
 * clocks, in milliseconds: safe while coordinators' clocks differ by much less than a lease lasts.
 */
public final class Leases {
  private final Jdbc db;

  Leases(Jdbc db) {
    this.db = db;
  }

  /** A lease as stored: its owner while held (empty once released), held until, next due. */
  public record Lease(String name, Optional<String> owner, long untilMillis, long dueMillis) {}

  /**
   * Takes the lease until {@code untilMillis} if its work is due at {@code nowMillis} and no other
   * owner holds it unexpired (a lease never taken is due). False when someone else has it, or its
   * work is not due yet.
   */
  public boolean take(String name, String owner, long nowMillis, long untilMillis) throws CatalogException {
    check(name, owner);
    if (untilMillis <= nowMillis) {
      throw new IllegalArgumentException("a lease must last past now (" + nowMillis + "), got until " + untilMillis
          + " for " + name);
    }
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO leases (name, owner, until_millis, due_millis) VALUES (?, ?, ?, 0) "
              + "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_millis = excluded.until_millis "
              + "WHERE leases.due_millis <= ? "
              + "AND (leases.owner IS NULL OR leases.owner = ? OR leases.until_millis < ?)")) {
        ps.setString(1, name);
        ps.setString(2, owner);
        ps.setLong(3, untilMillis);
        ps.setLong(4, nowMillis);
        ps.setString(5, owner);
        ps.setLong(6, nowMillis);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /**
   * Extends a lease this owner holds to {@code untilMillis}; false when it no longer holds it
   * (another owner took it over after it expired). A lease that expired but that nobody took is
   * still this owner's, and renewing it is safe.
   */
  public boolean renew(String name, String owner, long untilMillis) throws CatalogException {
    check(name, owner);
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE leases SET until_millis = ? WHERE name = ? AND owner = ?")) {
        ps.setLong(1, untilMillis);
        ps.setString(2, name);
        ps.setString(3, owner);
        return ps.executeUpdate() == 1;
      }
    });
  }

  /**
   * Lets go of a lease this owner holds; its work is next due at {@code dueMillis} (now, when the
   * work was not done). Nothing happens when another owner holds it; repeating it is harmless.
   */
  public void release(String name, String owner, long dueMillis) throws CatalogException {
    check(name, owner);
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "UPDATE leases SET owner = NULL, until_millis = 0, due_millis = ? WHERE name = ? AND owner = ?")) {
        ps.setLong(1, dueMillis);
        ps.setString(2, name);
        ps.setString(3, owner);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /**
   * The names beginning with {@code prefix} that {@code owner} cannot take at {@code nowMillis}:
   * held unexpired by another owner, or not due yet. One read for a round over many items (the
   * holders to audit), so that it tries to take only what it may get. Reads every lease row:
   * there is one per holder and a few more.
   */
  public Set<String> unavailable(String prefix, String owner, long nowMillis) throws CatalogException {
    checkOwner(owner, prefix);
    return db.locked(() -> {
      Set<String> names = new HashSet<>();
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT name FROM leases WHERE substr(name, 1, ?) = ? AND (due_millis > ? "
              + "OR (owner IS NOT NULL AND owner <> ? AND until_millis >= ?))")) {
        ps.setInt(1, prefix.length());
        ps.setString(2, prefix);
        ps.setLong(3, nowMillis);
        ps.setString(4, owner);
        ps.setLong(5, nowMillis);
        Jdbc.collect(ps, names);
      }
      return names;
    });
  }

  /** The lease of this name, if it was ever taken. */
  public Optional<Lease> get(String name) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT owner, until_millis, due_millis FROM leases WHERE name = ?")) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next()
              ? Optional.of(new Lease(name, Optional.ofNullable(rs.getString(1)), rs.getLong(2), rs.getLong(3)))
              : Optional.empty();
        }
      }
    });
  }

  private static void check(String name, String owner) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a lease needs a name, got '" + name + "'");
    }
    checkOwner(owner, name);
  }

  private static void checkOwner(String owner, String name) {
    if (owner == null || owner.isBlank()) {
      throw new IllegalArgumentException("a lease needs an owner, got '" + owner + "' for " + name);
    }
  }
}
