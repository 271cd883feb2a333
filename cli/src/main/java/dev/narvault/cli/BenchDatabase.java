package dev.narvault.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.UUID;

/**
 * Where a bench keeps its catalog: SQLite in a scratch directory of its own, or, given a
 * PostgreSQL URL, a schema of its own in that database. {@link #close} drops the schema and
 * deletes the directory, so a bench never touches a catalog in use.
 */
final class BenchDatabase implements AutoCloseable {
  /** The bench's scratch directory (the SQLite file, keys, logs). */
  final Path scratch;
  /** The catalog's JDBC URL. */
  final String url;
  /** The PostgreSQL schema, or null for SQLite. */
  final String schema;
  private final String server;

  private BenchDatabase(Path scratch, String url, String schema, String server) {
    this.scratch = scratch;
    this.url = url;
    this.schema = schema;
    this.server = server;
  }

  /**
   * A fresh scratch directory named after {@code prefix}, and SQLite in it when {@code catalogUrl}
   * is null, else a new schema in that PostgreSQL database.
   */
  static BenchDatabase create(String prefix, String catalogUrl) throws IOException, SQLException {
    Path scratch = Files.createTempDirectory(prefix);
    if (catalogUrl == null) {
      return new BenchDatabase(scratch, "jdbc:sqlite:" + scratch.resolve("catalog.db"), null, null);
    }
    if (!catalogUrl.startsWith("jdbc:postgresql:")) {
      delete(scratch);
      throw new IllegalArgumentException("--catalog must be a jdbc:postgresql: URL (SQLite is the default), got "
          + catalogUrl);
    }
    String schema = "bench" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c = DriverManager.getConnection(catalogUrl); Statement s = c.createStatement()) {
      s.execute("CREATE SCHEMA " + schema);
    } catch (SQLException e) {
      delete(scratch);
      throw e;
    }
    return new BenchDatabase(scratch, catalogUrl + (catalogUrl.contains("?") ? "&" : "?") + "currentSchema=" + schema,
        schema, catalogUrl);
  }

  boolean postgres() {
    return schema != null;
  }

  @Override
  public void close() throws IOException, SQLException {
    try {
      if (schema != null) {
        try (Connection c = DriverManager.getConnection(server); Statement s = c.createStatement()) {
          s.execute("DROP SCHEMA " + schema + " CASCADE");
        }
      }
    } finally {
      delete(scratch);
    }
  }

  private static void delete(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
