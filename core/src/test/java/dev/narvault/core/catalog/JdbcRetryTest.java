package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Jdbc}'s rule for broken connections: a call is tried again only while nothing it sent
 * can have changed the database; a change whose outcome is unknown is never repeated.
 */
class JdbcRetryTest {
  @TempDir
  Path dir;

  private String url;

  /** How a borrowed connection breaks; the connections themselves are real SQLite ones. */
  enum Fault {
    NONE,
    /** Dropped by the server before it was borrowed: not valid, every statement fails. */
    DEAD,
    /** The commit reaches the database, and the connection breaks before its answer. */
    BREAKS_AFTER_COMMITTING,
    /** A change in autocommit mode is sent, and the connection breaks before its answer. */
    BREAKS_AFTER_A_CHANGE,
    /** The first SELECT fails: the connection broke before anything was sent. */
    BREAKS_ON_A_READ,
    /** The connection breaks at the second statement of a transaction, before its commit. */
    BREAKS_INSIDE_A_TRANSACTION
  }

  /** Hands out real connections, each with the next fault of its queue (none once it is empty). */
  static final class FaultyPool implements Jdbc.Pool {
    private final String url;
    private final Deque<Fault> faults = new ArrayDeque<>();
    int borrowed;
    int evicted;

    FaultyPool(String url, Fault... faults) {
      this.url = url;
      this.faults.addAll(List.of(faults));
    }

    @Override
    public Connection borrow() throws SQLException {
      borrowed++;
      Fault fault = faults.isEmpty() ? Fault.NONE : faults.poll();
      Connection real = DriverManager.getConnection(url);
      AtomicInteger statements = new AtomicInteger();
      return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
          (proxy, method, args) -> {
            String name = method.getName();
            boolean inTransaction = !real.getAutoCommit();
            switch (fault) {
              case DEAD -> {
                if (name.equals("isValid")) {
                  return false;
                }
                if (!name.equals("close")) {
                  throw broken();
                }
              }
              case BREAKS_AFTER_COMMITTING -> {
                if (name.equals("commit")) {
                  real.commit();
                  throw broken();
                }
              }
              case BREAKS_AFTER_A_CHANGE -> {
                if (name.equals("prepareStatement") && !Jdbc.readOnly((String) args[0]) && !inTransaction) {
                  try (Statement s = real.createStatement()) {
                    s.executeUpdate((String) args[0]);
                  }
                  throw broken();
                }
              }
              case BREAKS_ON_A_READ -> {
                if (name.equals("prepareStatement") && Jdbc.readOnly((String) args[0])) {
                  throw broken();
                }
              }
              case BREAKS_INSIDE_A_TRANSACTION -> {
                if (name.equals("prepareStatement") && inTransaction && statements.incrementAndGet() == 2) {
                  throw broken();
                }
              }
              case NONE -> { }
            }
            try {
              return method.invoke(real, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
    }

    private static SQLException broken() {
      return new SQLException("An I/O error occurred while sending to the backend.", "08006");
    }

    @Override
    public void evict(Connection c) {
      evicted++;
    }

    @Override
    public int size() {
      return 4;
    }

    @Override
    public void close() {}
  }

  @BeforeEach
  void createTable() throws Exception {
    url = "jdbc:sqlite:" + dir.resolve("t.db");
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
      s.execute("INSERT INTO t (id, n) VALUES (1, 0)");
    }
  }

  private int counter() throws Exception {
    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT n FROM t WHERE id = 1")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static int increment(Jdbc db) throws SQLException {
    try (PreparedStatement ps = db.connection().prepareStatement("UPDATE t SET n = n + 1 WHERE id = 1")) {
      return ps.executeUpdate();
    }
  }

  @Test
  void locked_commitBreaks_runsOnceAndSaysTheOutcomeIsUnknown() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.BREAKS_AFTER_COMMITTING);
    AtomicInteger runs = new AtomicInteger();
    try (Jdbc db = new Jdbc(url, pool)) {
      CatalogException e = assertThrows(CatalogException.class, () -> db.locked(() -> db.inTransaction(() -> {
        runs.incrementAndGet();
        return increment(db);
      })));
      assertInstanceOf(CommitOutcomeUnknownException.class, e);
      assertTrue(e.getMessage().contains("unknown"), e.getMessage());
    }
    assertEquals(1, runs.get(), "the work ran once");
    assertEquals(1, counter(), "and was applied once");
    assertEquals(1, pool.borrowed);
  }

  @Test
  void locked_autocommitChangeBreaks_isNotRetried() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.BREAKS_AFTER_A_CHANGE);
    AtomicInteger runs = new AtomicInteger();
    try (Jdbc db = new Jdbc(url, pool)) {
      CatalogException e = assertThrows(CommitOutcomeUnknownException.class, () -> db.locked(() -> {
        runs.incrementAndGet();
        return increment(db);
      }));
      assertTrue(e.getMessage().contains("unknown"), e.getMessage());
    }
    assertEquals(1, runs.get());
    assertEquals(1, counter());
  }

  @Test
  void locked_transactionBreaksBeforeItsCommit_isNotRetried_andSaysNothingWasApplied() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.BREAKS_INSIDE_A_TRANSACTION);
    AtomicInteger runs = new AtomicInteger();
    try (Jdbc db = new Jdbc(url, pool)) {
      CatalogException e = assertThrows(CatalogException.class, () -> db.locked(() -> db.inTransaction(() -> {
        runs.incrementAndGet();
        increment(db);
        return increment(db);
      })));
      assertFalse(e instanceof CommitOutcomeUnknownException, e.getMessage());
      assertTrue(e.getMessage().contains("nothing of it was applied"), e.getMessage());
    }
    assertEquals(1, runs.get());
    assertEquals(0, counter(), "rolled back");
  }

  @Test
  void locked_readOnABrokenConnection_isRetriedOnAFreshOne() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.BREAKS_ON_A_READ, Fault.BREAKS_ON_A_READ);
    AtomicInteger runs = new AtomicInteger();
    try (Jdbc db = new Jdbc(url, pool)) {
      int n = db.locked(() -> {
        runs.incrementAndGet();
        try (PreparedStatement ps = db.connection().prepareStatement("SELECT n FROM t WHERE id = 1");
            ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getInt(1);
        }
      });
      assertEquals(0, n);
    }
    assertEquals(3, runs.get(), "two broken connections, then a good one");
    assertEquals(2, pool.evicted);
  }

  @Test
  void locked_deadConnectionsFoundBeforeTheFirstChange_areReplaced_andTheChangeAppliedOnce() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.DEAD, Fault.DEAD, Fault.DEAD);
    AtomicInteger runs = new AtomicInteger();
    try (Jdbc db = new Jdbc(url, pool)) {
      db.locked(() -> {
        runs.incrementAndGet();
        return increment(db);
      });
      db.locked(() -> db.inTransaction(() -> increment(db)));
    }
    assertEquals(4, runs.get(), "three dead connections, then a good one");
    assertEquals(3, pool.evicted);
    assertEquals(2, counter());
  }

  @Test
  void locked_deadConnectionsBeyondThePoolSize_fail() throws Exception {
    FaultyPool pool = new FaultyPool(url, Fault.DEAD, Fault.DEAD, Fault.DEAD, Fault.DEAD, Fault.DEAD, Fault.DEAD);
    try (Jdbc db = new Jdbc(url, pool)) {
      CatalogException e = assertThrows(CatalogException.class, () -> db.locked(() -> increment(db)));
      assertFalse(e instanceof CommitOutcomeUnknownException, "nothing was sent: " + e.getMessage());
    }
    assertEquals(5, pool.borrowed, "once per pooled connection, and once more");
    assertEquals(0, counter());
  }

  @Test
  void postgres_afterARestart_aChangeFirstFindsALiveConnection() throws Exception {
    String pg = System.getenv("NARVAULT_TEST_POSTGRES_URL");
    org.junit.jupiter.api.Assumptions.assumeTrue(pg != null && !pg.isBlank(), "no PostgreSQL (.ci/run starts one)");
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(pg, dir))) {
      // Every pooled connection used just now, so that the pool hands them out unchecked.
      try (var callers = java.util.concurrent.Executors.newFixedThreadPool(8)) {
        var calls = new java.util.ArrayList<java.util.concurrent.Future<Boolean>>();
        for (int i = 0; i < 64; i++) {
          calls.add(callers.submit(() -> c.pendingPacks().pending(new PackId("p"), 0)));
        }
        for (var call : calls) {
          assertFalse(call.get());
        }
      }
      try (Connection admin = DriverManager.getConnection(pg); Statement s = admin.createStatement()) {
        s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            + "AND pid <> pg_backend_pid() AND application_name <> 'psql'");
      }
      c.pendingPacks().renew(new PackId("p"), "w", 10);
      assertTrue(c.pendingPacks().pending(new PackId("p"), 10));
    }
  }

  @Test
  void readOnly_onlyPlainQueries() {
    assertTrue(Jdbc.readOnly("  select 1"));
    assertTrue(Jdbc.readOnly("SELECT n FROM t"));
    assertFalse(Jdbc.readOnly("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"));
    assertFalse(Jdbc.readOnly("UPDATE t SET n = 1"));
    assertFalse(Jdbc.readOnly("INSERT INTO t VALUES (2, 2)"));
  }
}
