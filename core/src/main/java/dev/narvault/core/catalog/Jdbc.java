package dev.narvault.core.catalog;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The catalog's one connection and the two ways to use it: {@link #locked} for a statement or
 * two, {@link #inTransaction} (inside {@code locked}) for changes that must land whole. Shared by
 * the catalog's parts ({@link Catalog}, {@link Custody}).
 */
final class Jdbc {
  final Connection connection;
  private final String url;
  private final ReentrantLock lock = new ReentrantLock();

  Jdbc(String url, Connection connection) {
    this.url = url;
    this.connection = connection;
  }

  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  <T> T locked(SqlWork<T> work) throws CatalogException {
    lock.lock();
    try {
      return work.run();
    } catch (SQLException e) {
      throw new CatalogException("catalog " + redacted(url) + ": " + e.getMessage(), e);
    } finally {
      lock.unlock();
    }
  }

  /** Runs {@code work} as one transaction: all of it is committed, or none. Call inside {@link #locked}. */
  <T> T inTransaction(SqlWork<T> work) throws SQLException {
    connection.setAutoCommit(false);
    try {
      T result = work.run();
      connection.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** A JDBC URL without its password, for messages and logs. */
  static String redacted(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }
}
