package dev.narvault.core.catalog;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * The catalog's connection pool and the two ways to use it: {@link #locked} runs work on a
 * connection of its own (borrowed from the pool for the call; nested calls on the same thread use
 * the same connection), {@link #inTransaction} (inside {@code locked}) makes changes land whole.
 * Shared by the catalog's parts ({@link Catalog}, {@link Custody}, {@link Journal}).
 *
 * <p>A call that fails because its connection broke (the database restarted, or dropped it) is
 * tried once more on a fresh connection, unless it was inside a transaction.
 */
final class Jdbc implements AutoCloseable {
  private final String url;
  private final HikariDataSource pool;
  private final ThreadLocal<Connection> current = new ThreadLocal<>();

  Jdbc(String url) {
    this.url = url;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setPoolName("narvault-catalog");
    if (url.startsWith("jdbc:sqlite:")) {
      // Per-connection settings: WAL (readers never block the writer), full fsync on commit,
      // foreign keys, and waiting (not failing) while another connection writes. Transactions
      // take the write lock when they begin (IMMEDIATE): a deferred one that read first and then
      // writes would fail at once, not wait, if another connection wrote meanwhile.
      config.addDataSourceProperty("journal_mode", "WAL");
      config.addDataSourceProperty("transaction_mode", "IMMEDIATE");
      config.addDataSourceProperty("synchronous", "FULL");
      config.addDataSourceProperty("foreign_keys", "true");
      config.addDataSourceProperty("busy_timeout", "30000");
      config.setMaximumPoolSize(4);
    } else {
      config.setMaximumPoolSize(8);
    }
    config.setConnectionTimeout(30_000);
    this.pool = new HikariDataSource(config);
  }

  /** The connection of the {@link #locked} call running on this thread. */
  Connection connection() {
    Connection c = current.get();
    if (c == null) {
      throw new IllegalStateException("catalog work outside Jdbc.locked");
    }
    return c;
  }

  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  <T> T locked(SqlWork<T> work) throws CatalogException {
    if (current.get() != null) {
      try {
        return work.run();
      } catch (SQLException e) {
        throw failure(e);
      }
    }
    for (int attempt = 1; ; attempt++) {
      try (Connection c = pool.getConnection()) {
        current.set(c);
        return work.run();
      } catch (SQLException e) {
        // After a database restart every pooled connection is dead, not just the first one taken:
        // each failing one is evicted by the pool, so at most one attempt per pooled connection.
        if (attempt <= pool.getMaximumPoolSize() && brokenConnection(e)) {
          continue;
        }
        throw failure(e);
      } finally {
        current.remove();
      }
    }
  }

  /** Runs {@code work} as one transaction: all of it is committed, or none. Call inside {@link #locked}. */
  <T> T inTransaction(SqlWork<T> work) throws SQLException {
    Connection c = connection();
    c.setAutoCommit(false);
    try {
      T result = work.run();
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      try {
        c.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      throw e;
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // a broken connection: the pool discards it
      }
    }
  }

  /** SQLState class 08 (connection exception) or 57P (PostgreSQL shut down or terminated us). */
  private static boolean brokenConnection(SQLException e) {
    String state = e.getSQLState();
    return state != null && (state.startsWith("08") || state.startsWith("57P"));
  }

  private CatalogException failure(SQLException e) {
    return new CatalogException("catalog " + redacted(url) + ": " + e.getMessage(), e);
  }

  @Override
  public void close() {
    pool.close();
  }

  /** A JDBC URL without its password, for messages and logs. */
  static String redacted(String url) {
    // password=… parameters, and user:password@ in URLs of other forms
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("(//[^/:@]*:)[^/@]*@", "$1***@");
  }
}
