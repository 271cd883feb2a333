package dev.narvault.core.catalog;

import dev.narvault.core.nix.NixBase32;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * When the cache's NARs were last asked for: what makes a NAR cold is that nobody used it, not
 * that it was uploaded long ago.
 *
 * <p>A record's <em>subject</em> is a store path hash ({@code <hash>.narinfo} requests, and NAR
 * requests whose S3 key the catalog names a store path for), or the S3 key of a NAR object
 * ({@code nar/<filehash>.nar.xz}) when the catalog cannot name one, i.e. a NAR not yet archived:
 * migrate asks about both the store hash and the narinfo's {@code URL}, so such requests count
 * all the same. Each subject keeps its last request (the latest ever recorded, whatever order
 * logs come in) and how many requests were recorded. Requests for archived NARs are also counted
 * per UTC day for {@value #DAYS_KEPT} days ({@code access_days}): what {@code promote} asks.
 *
 * <p>Writes come in {@link Batch}es (one transaction each), from imported request logs and from
 * the gateway; memory is the batch's, whatever the number of subjects in the catalog.
 */
public final class AccessRecords {
  /** Days of per-day counts kept: a window of up to 31 days, plus the partial day it begins in. */
  public static final int DAYS_KEPT = 32;
  static final long DAY_MILLIS = 86_400_000L;
  /** Lookups by subject go in chunks of this many parameters. */
  private static final int CHUNK = 500;
  /** The longest NAR key recorded. */
  static final int MAX_KEY_LENGTH = 256;

  private final Jdbc db;

  AccessRecords(Jdbc db) {
    this.db = db;
  }

  /** One subject's record. */
  public record Record(String subject, long lastMillis, long requests) {}

  /** An archived NAR's requests on the days asked about. */
  public record Hot(String storeHash, long requests) {}

  /** One imported log file: its digest, name, requests taken and the times they span. */
  public record ImportedFile(String digest, String name, long requests, long firstMillis, long lastMillis,
      long importedMillis) {}

  /** What one batch came to. */
  public record Written(int subjects, int narKeysNamed, int narKeysUnknown, int archivedDays) {}

  /** The UTC day (days since 1970-01-01) of a time. */
  public static int day(long millis) {
    return Math.toIntExact(Math.floorDiv(millis, DAY_MILLIS));
  }

  /** Whether a text is a subject: a store path hash, or a NAR object's key ({@code nar/…}). */
  public static boolean isSubject(String s) {
    return isStoreHash(s) || isNarKey(s);
  }

  static boolean isStoreHash(String s) {
    return s.length() == 32 && NixBase32.isNix32(s);
  }

  /** {@code nar/} then a file name of letters, digits, dots, dashes and underscores. */
  static boolean isNarKey(String s) {
    if (!s.startsWith("nar/") || s.length() <= 4 || s.length() > MAX_KEY_LENGTH) {
      return false;
    }
    for (int i = 4; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-'
          || c == '_';
      if (!ok) {
        return false;
      }
    }
    return !s.contains("..");
  }

  /**
   * Requests gathered before they are written: per subject and UTC day, the last time and the
   * count. Not thread-safe.
   */
  public static final class Batch {
    private record Key(String subject, int day) {}

    private final Map<Key, long[]> tallies = new HashMap<>();

    /**
     * Counts {@code count} requests for {@code subject}, the last at {@code millis}.
     *
     * @throws IllegalArgumentException for a subject that is neither a store hash nor a NAR key
     */
    public void add(String subject, long millis, long count) {
      if (!isSubject(subject)) {
        throw new IllegalArgumentException("not a store path hash or nar/ key: '" + subject + "'");
      }
      if (count < 1) {
        throw new IllegalArgumentException("a request count must be positive, got " + count);
      }
      long[] t = tallies.computeIfAbsent(new Key(subject, day(millis)), k -> new long[] {Long.MIN_VALUE, 0});
      t[0] = Math.max(t[0], millis);
      t[1] += count;
    }

    /** Counts one request. */
    public void add(String subject, long millis) {
      add(subject, millis, 1);
    }

    /** Adds everything of {@code other}. */
    public void addAll(Batch other) {
      other.tallies.forEach((k, t) -> add(k.subject(), t[0], t[1]));
    }

    /** Distinct (subject, day) pairs held: what the batch's memory is proportional to. */
    public int size() {
      return tallies.size();
    }

    public boolean isEmpty() {
      return tallies.isEmpty();
    }
  }

  /**
   * Writes a batch in one transaction: NAR keys the catalog knows become their store hash (the
   * first by store hash, when several store paths name one object), others stay keys; each
   * subject's last request becomes the later of the recorded and the new, its count grows; and
   * the per-day counts of archived NARs grow.
   */
  public Written record(Batch batch) throws CatalogException {
    if (batch.isEmpty()) {
      return new Written(0, 0, 0, 0);
    }
    return db.locked(() -> db.inTransaction(() -> {
      Set<String> narKeys = new HashSet<>();
      for (Batch.Key k : batch.tallies.keySet()) {
        if (isNarKey(k.subject())) {
          narKeys.add(k.subject());
        }
      }
      Map<String, String> named = storeHashesOf(narKeys);
      // Per subject (after naming) its last time and count; per archived store hash and day, a count.
      // In key order: the upserts then walk the primary key's B-tree from one end to the other
      // instead of jumping about it (several times faster on a large SQLite catalog).
      Map<String, long[]> subjects = new java.util.TreeMap<>();
      Map<Batch.Key, Long> days = new java.util.TreeMap<>(
          java.util.Comparator.comparing(Batch.Key::subject).thenComparingInt(Batch.Key::day));
      for (Map.Entry<Batch.Key, long[]> e : batch.tallies.entrySet()) {
        String subject = named.getOrDefault(e.getKey().subject(), e.getKey().subject());
        long[] t = e.getValue();
        long[] s = subjects.computeIfAbsent(subject, x -> new long[] {Long.MIN_VALUE, 0});
        s[0] = Math.max(s[0], t[0]);
        s[1] += t[1];
        if (isStoreHash(subject)) {
          days.merge(new Batch.Key(subject, e.getKey().day()), t[1], Long::sum);
        }
      }
      Set<String> archived = archivedOf(subjects.keySet().stream().filter(AccessRecords::isStoreHash).toList());
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO access_records (subject, last_millis, requests) VALUES (?, ?, ?) ON CONFLICT (subject) "
              + "DO UPDATE SET last_millis = CASE WHEN excluded.last_millis > access_records.last_millis "
              + "THEN excluded.last_millis ELSE access_records.last_millis END, "
              + "requests = access_records.requests + excluded.requests")) {
        for (Map.Entry<String, long[]> e : subjects.entrySet()) {
          ps.setString(1, e.getKey());
          ps.setLong(2, e.getValue()[0]);
          ps.setLong(3, e.getValue()[1]);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      int archivedDays = 0;
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO access_days (store_hash, day, requests) VALUES (?, ?, ?) ON CONFLICT (store_hash, day) "
              + "DO UPDATE SET requests = access_days.requests + excluded.requests")) {
        for (Map.Entry<Batch.Key, Long> e : days.entrySet()) {
          if (archived.contains(e.getKey().subject())) {
            ps.setString(1, e.getKey().subject());
            ps.setInt(2, e.getKey().day());
            ps.setLong(3, e.getValue());
            ps.addBatch();
            archivedDays++;
          }
        }
        if (archivedDays > 0) {
          ps.executeBatch();
        }
      }
      return new Written(subjects.size(), named.size(), narKeys.size() - named.size(), archivedDays);
    }));
  }

  /** The store hash the catalog has for each of these NAR keys it knows (the first, by store hash). */
  private Map<String, String> storeHashesOf(Collection<String> narKeys) throws SQLException {
    Map<String, String> named = new HashMap<>();
    for (List<String> chunk : chunks(narKeys)) {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT file_key, MIN(store_hash) FROM nars WHERE file_key IN (" + placeholders(chunk.size())
              + ") GROUP BY file_key")) {
        bind(ps, chunk, 1);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            named.put(rs.getString(1), rs.getString(2));
          }
        }
      }
    }
    return named;
  }

  private Set<String> archivedOf(Collection<String> storeHashes) throws SQLException {
    Set<String> archived = new HashSet<>();
    for (List<String> chunk : chunks(storeHashes)) {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash FROM nars WHERE store_hash IN (" + placeholders(chunk.size()) + ")")) {
        bind(ps, chunk, 1);
        Jdbc.collect(ps, archived);
      }
    }
    return archived;
  }

  /** The latest request recorded for any of these subjects, if any was. */
  public OptionalLong lastRequest(Collection<String> subjects) throws CatalogException {
    return db.locked(() -> {
      long last = Long.MIN_VALUE;
      for (List<String> chunk : chunks(subjects)) {
        try (PreparedStatement ps = db.connection().prepareStatement(
            "SELECT MAX(last_millis) FROM access_records WHERE subject IN (" + placeholders(chunk.size()) + ")")) {
          bind(ps, chunk, 1);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              long v = rs.getLong(1);
              if (!rs.wasNull()) {
                last = Math.max(last, v);
              }
            }
          }
        }
      }
      return last == Long.MIN_VALUE ? OptionalLong.empty() : OptionalLong.of(last);
    });
  }

  /** One subject's record, if it has one. */
  public Optional<Record> get(String subject) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT last_millis, requests FROM access_records WHERE subject = ?")) {
        ps.setString(1, subject);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(new Record(subject, rs.getLong(1), rs.getLong(2))) : Optional.empty();
        }
      }
    });
  }

  /**
   * Archived NARs requested at least {@code minRequests} times on days {@code fromDay} and after,
   * by store hash after {@code after}, at most {@code limit}: a page of promote's candidates.
   */
  public List<Hot> hotArchived(int fromDay, long minRequests, String after, int limit) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT store_hash, SUM(requests) FROM access_days WHERE day >= ? AND store_hash > ? GROUP BY store_hash "
              + "HAVING SUM(requests) >= ? ORDER BY store_hash LIMIT ?")) {
        ps.setInt(1, fromDay);
        ps.setString(2, after);
        ps.setLong(3, minRequests);
        ps.setInt(4, limit);
        List<Hot> hot = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            hot.add(new Hot(rs.getString(1), rs.getLong(2)));
          }
        }
        return hot;
      }
    });
  }

  /** Drops per-day counts older than {@link #DAYS_KEPT} days before {@code nowMillis}'s day; how many. */
  public int pruneDays(long nowMillis) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("DELETE FROM access_days WHERE day < ?")) {
        ps.setInt(1, day(nowMillis) - DAYS_KEPT);
        return ps.executeUpdate();
      }
    });
  }

  /** The file with this digest, if it was imported. */
  public Optional<ImportedFile> imported(String digest) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT digest, name, requests, first_millis, last_millis, imported_millis FROM access_imports "
              + "WHERE digest = ?")) {
        ps.setString(1, digest);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(importedFile(rs)) : Optional.empty();
        }
      }
    });
  }

  /** Notes a file as imported (again: its latest import replaces the earlier). */
  public void recordImport(ImportedFile file) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO access_imports (digest, name, requests, first_millis, last_millis, imported_millis) "
              + "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET name = excluded.name, "
              + "requests = excluded.requests, first_millis = excluded.first_millis, "
              + "last_millis = excluded.last_millis, imported_millis = excluded.imported_millis")) {
        ps.setString(1, file.digest());
        ps.setString(2, file.name());
        ps.setLong(3, file.requests());
        ps.setLong(4, file.firstMillis());
        ps.setLong(5, file.lastMillis());
        ps.setLong(6, file.importedMillis());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** What the imported logs cover: how many files, from their first request to their last. */
  public record Coverage(long files, long firstMillis, long lastMillis) {}

  /** The span of every imported file's requests (files without requests left out), if any. */
  public Optional<Coverage> coverage() throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT COUNT(*), MIN(first_millis), MAX(last_millis) FROM access_imports WHERE requests > 0");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        long files = rs.getLong(1);
        return files == 0 ? Optional.empty() : Optional.of(new Coverage(files, rs.getLong(2), rs.getLong(3)));
      }
    });
  }

  private static ImportedFile importedFile(ResultSet rs) throws SQLException {
    return new ImportedFile(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
        rs.getLong(6));
  }

  private static List<List<String>> chunks(Collection<String> values) {
    List<String> all = new ArrayList<>(values);
    List<List<String>> chunks = new ArrayList<>();
    for (int i = 0; i < all.size(); i += CHUNK) {
      chunks.add(all.subList(i, Math.min(all.size(), i + CHUNK)));
    }
    return chunks;
  }

  private static String placeholders(int n) {
    return String.join(", ", java.util.Collections.nCopies(n, "?"));
  }

  private static void bind(PreparedStatement ps, List<String> values, int from) throws SQLException {
    for (int i = 0; i < values.size(); i++) {
      ps.setString(from + i, values.get(i));
    }
  }
}
