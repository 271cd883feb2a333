package dev.narvault.core.catalog;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;

/**
 * The catalog's connection pool and the two ways to use it: {@link #locked} runs work on a
 * connection of its own (borrowed from the pool for the call; nested calls on the same thread use
 * the same connection), {@link #inTransaction} (inside {@code locked}) makes changes land whole.
 * Shared by the catalog's facade and all its parts (listed on {@link Catalog}).
 *
 * <h2>When a call is tried again</h2>
 *
 * A connection can break under a call (the database restarted, or dropped it). Trying the call
 * again on a fresh connection is only safe while nothing it sent can have changed the database:
 * a change whose answer was lost may have been applied, and applying it again (a second journal
 * advance, a second audit counted) is worse than failing. So:
 *
 * <ol>
 *   <li>A failure to obtain a connection is tried again (nothing was sent).
 *   <li>Before a call's first change (a statement that is not a {@code SELECT}, or beginning a
 *       transaction) its connection is checked alive ({@link Connection#isValid}); a dead one is
 *       discarded and the call tried again on another, since none of its changes was sent yet.
 *       (The pool does not re-check connections used in the last half second, and after a
 *       restart every pooled one is dead.)
 *   <li>A call that broke having sent only {@code SELECT}s is tried again.
 *   <li>A call that broke after it began a transaction is never tried again. If the break came
 *       at or after the commit (or after a change in autocommit mode) the outcome is unknown: a
 *       {@link CommitOutcomeUnknownException}, which callers must not answer by blindly
 *       repeating the work. If it came before the commit, nothing of the transaction was applied:
 *       a plain {@link CatalogException}.
 * </ol>
 *
 * A statement counts as read-only when its text begins with {@code SELECT}; anything else
 * (including {@code WITH}, which may hide a change) counts as a change. Calls are tried at most
 * once per pooled connection more than the pool holds: after a restart each dead connection met
 * is evicted.
 */
final class Jdbc implements AutoCloseable {
  /** Seconds the liveness check before a call's first change may take. */
  private static final int VALIDATION_SECONDS = 5;

  private final String url;
  private final Pool pool;
  private final ThreadLocal<Call> current = new ThreadLocal<>();

  /**
   * Where connections come from: the Hikari pool, or in tests a source that breaks them on
   * purpose (this seam exists to inject connection faults).
   */
  interface Pool extends AutoCloseable {
    Connection borrow() throws SQLException;

    /** A connection found dead: it must not be handed out again. */
    void evict(Connection c);

    /** How many connections the pool may hold: bounds the attempts of one call. */
    int size();

    @Override
    void close();
  }

  Jdbc(String url) {
    this(url, hikari(url));
  }

  Jdbc(String url, Pool pool) {
    this.url = url;
    this.pool = pool;
  }

  private static Pool hikari(String url) {
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
    HikariDataSource source = new HikariDataSource(config);
    return new Pool() {
      @Override
      public Connection borrow() throws SQLException {
        return source.getConnection();
      }

      @Override
      public void evict(Connection c) {
        source.evictConnection(c);
      }

      @Override
      public int size() {
        return source.getMaximumPoolSize();
      }

      @Override
      public void close() {
        source.close();
      }
    };
  }

  /** The connection of the {@link #locked} call running on this thread. */
  Connection connection() {
    Call c = current.get();
    if (c == null) {
      throw new IllegalStateException("catalog work outside Jdbc.locked");
    }
    return c.observed;
  }

  @FunctionalInterface
  interface SqlWork<T> {
    T run() throws SQLException;
  }

  <T> T locked(SqlWork<T> work) throws CatalogException {
    Call running = current.get();
    if (running != null) {
      try {
        return work.run();
      } catch (SQLException e) {
        throw failure(e, running);
      }
    }
    for (int attempt = 1; ; attempt++) {
      boolean mayRetry = attempt <= pool.size();
      Connection c;
      try {
        c = pool.borrow();
      } catch (SQLException e) {
        if (mayRetry && brokenConnection(e)) {
          continue;
        }
        throw failure(e, null);
      }
      Call call = new Call(c);
      current.set(call);
      try {
        return work.run();
      } catch (SQLException e) {
        if (brokenConnection(e)) {
          pool.evict(c);
          if (mayRetry && call.repeatable()) {
            continue;
          }
        }
        throw failure(e, call);
      } finally {
        current.remove();
        try {
          c.close();
        } catch (SQLException ignored) {
          // a broken connection: the pool discards it; the call's outcome stands
        }
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

  private CatalogException failure(SQLException e, Call call) {
    String where = "catalog " + redacted(url) + ": ";
    if (call != null && brokenConnection(e)) {
      if (call.commitAttempted) {
        return new CommitOutcomeUnknownException(where + "the connection broke at or after a commit: whether the "
            + "transaction was applied is unknown, so it is not retried (" + e.getMessage() + ")", e);
      }
      if (call.changedInAutocommit) {
        return new CommitOutcomeUnknownException(where + "the connection broke after a change was sent: whether it "
            + "was applied is unknown, so it is not retried (" + e.getMessage() + ")", e);
      }
      if (call.transactionBegun) {
        return new CatalogException(where + "the connection broke inside a transaction before its commit: nothing "
            + "of it was applied, and it is not retried (" + e.getMessage() + ")", e);
      }
    }
    return new CatalogException(where + e.getMessage(), e);
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

  /** Runs a query and adds the first column of each row it returns, as text, to {@code into}. */
  static void collect(PreparedStatement ps, Collection<String> into) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        into.add(rs.getString(1));
      }
    }
  }

  /** Whether a statement's text is a plain query, which changes nothing. */
  static boolean readOnly(String sql) {
    return sql.stripLeading().regionMatches(true, 0, "SELECT", 0, 6);
  }

  /**
   * One outermost {@link #locked} call: its connection, seen through a forwarding proxy that
   * notes what was sent which a retry could repeat. (A dynamic proxy rather than a hand-written
   * forwarding class: {@link Connection} has some fifty methods, and only five matter here.)
   */
  private static final class Call implements InvocationHandler {
    private final Connection real;
    final Connection observed;
    /** Checked alive before the first change. */
    private boolean validated;
    boolean transactionBegun;
    /** Inside a transaction: a change was prepared since it began, or since the last commit. */
    private boolean transactionDirty;
    private boolean inTransaction;
    boolean commitAttempted;
    boolean changedInAutocommit;

    Call(Connection real) {
      this.real = real;
      this.observed = (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
          new Class<?>[] {Connection.class}, this);
    }

    /** Nothing sent so far can have changed the database. */
    boolean repeatable() {
      return !transactionBegun && !commitAttempted && !changedInAutocommit;
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
      switch (method.getName()) {
        case "prepareStatement", "prepareCall" -> sending((String) args[0]);
        case "setAutoCommit" -> {
          boolean on = (Boolean) args[0];
          if (!on && !inTransaction) {
            beforeFirstChange();
            transactionBegun = true;
            inTransaction = true;
            transactionDirty = false;
          } else if (on && inTransaction) {
            // Turning autocommit back on commits what is pending (JDBC's rule).
            commitAttempted |= transactionDirty;
            inTransaction = false;
          }
        }
        case "commit" -> {
          commitAttempted = true;
          transactionDirty = false;
        }
        case "rollback" -> transactionDirty = false;
        default -> { }
      }
      Object result = forward(real, method, args);
      if (result instanceof Statement s && method.getName().equals("createStatement")) {
        return Proxy.newProxyInstance(Statement.class.getClassLoader(), new Class<?>[] {Statement.class},
            (p, m, a) -> {
              if (a != null && a.length > 0 && a[0] instanceof String sql
                  && (m.getName().startsWith("execute") || m.getName().equals("addBatch"))) {
                sending(sql);
              }
              return forward(s, m, a);
            });
      }
      return result;
    }

    /** Notes a statement about to go out; a change is preceded by the liveness check. */
    private void sending(String sql) throws SQLException {
      if (readOnly(sql)) {
        return;
      }
      if (inTransaction) {
        transactionDirty = true;
      } else {
        beforeFirstChange();
        changedInAutocommit = true;
      }
    }

    private void beforeFirstChange() throws SQLException {
      if (validated || !repeatable()) {
        return;
      }
      validated = true;
      boolean alive;
      try {
        alive = real.isValid(VALIDATION_SECONDS);
      } catch (SQLException e) {
        alive = false;
      }
      if (!alive) {
        throw new SQLException("catalog connection found dead before the call changed anything", "08003");
      }
    }

    private static Object forward(Object target, Method method, Object[] args) throws Throwable {
      try {
        return method.invoke(target, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    }
  }
}
