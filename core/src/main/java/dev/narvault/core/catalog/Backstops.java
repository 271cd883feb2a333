package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which packs have a backstop: one object in a bucket of the cache's S3 store holding the pack's
 * bytes and its signed manifest ({@code docs/format.md} §5a). A pack is recorded here only once its
 * object was uploaded and checked; with {@code migrate --backstop-bucket}, no NAR of a pack is
 * drained before that. Readers never trust the object more than a holder: its bytes are verified
 * against the manifest's block hashes like fragment bytes.
 */
public final class Backstops {
  private final Jdbc db;

  /**
   * Where one pack's backstop is.
   *
   * @param length the whole object's length (pack bytes, manifest, trailer)
   * @param sha256 lowercase hex SHA-256 of the whole object, as uploaded; none for one a catalog
   *     rebuild found by listing the bucket (readers verify blocks against the manifest either way)
   */
  public record Backstop(PackId packId, String bucket, String key, long length, Optional<String> sha256) {
    public Backstop {
      if (bucket.isEmpty() || key.isEmpty() || length < 0
          || sha256.filter(h -> !h.matches("[0-9a-f]{64}")).isPresent()) {
        throw new IllegalArgumentException("bad backstop of pack " + packId + ": s3://" + bucket + "/" + key + ", "
            + length + " bytes, sha256 '" + sha256 + "'");
      }
    }

    /** For messages: {@code s3://bucket/key}. */
    public String location() {
      return "s3://" + bucket + "/" + key;
    }
  }

  Backstops(Jdbc db) {
    this.db = db;
  }

  /** Records (or records again, replacing) where {@code backstop}'s pack has its backstop. */
  public void record(Backstop backstop, long nowMillis) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "INSERT INTO pack_backstops (pack_id, bucket, object_key, object_length, sha256, placed_millis) "
              + "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pack_id) DO UPDATE SET bucket = excluded.bucket, "
              + "object_key = excluded.object_key, object_length = excluded.object_length, "
              + "sha256 = excluded.sha256, placed_millis = excluded.placed_millis")) {
        ps.setString(1, backstop.packId().hex());
        ps.setString(2, backstop.bucket());
        ps.setString(3, backstop.key());
        ps.setLong(4, backstop.length());
        ps.setString(5, backstop.sha256().orElse(null));
        ps.setLong(6, nowMillis);
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** The backstop of {@code packId}, if it has one. */
  public Optional<Backstop> of(PackId packId) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT bucket, object_key, object_length, sha256 FROM pack_backstops WHERE pack_id = ?")) {
        ps.setString(1, packId.hex());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          return Optional.of(new Backstop(packId, rs.getString(1), rs.getString(2), rs.getLong(3),
              Optional.ofNullable(rs.getString(4))));
        }
      }
    });
  }

  /**
   * The backstops still recorded for retired packs (rewritten by {@code forget}): objects that
   * hold forgotten bytes, to be replaced by their new pack's backstop and deleted. At most
   * {@code limit}, by pack id.
   */
  public List<Backstop> ofRetiredPacks(int limit) throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement(
          "SELECT b.pack_id, b.bucket, b.object_key, b.object_length, b.sha256 FROM pack_backstops b "
              + "JOIN packs p ON p.pack_id = b.pack_id WHERE p.retired_millis IS NOT NULL ORDER BY b.pack_id LIMIT ?")) {
        ps.setInt(1, limit);
        List<Backstop> list = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            list.add(new Backstop(new PackId(rs.getString(1)), rs.getString(2), rs.getString(3), rs.getLong(4),
                Optional.ofNullable(rs.getString(5))));
          }
        }
        return list;
      }
    });
  }

  /** Forgets the backstop of {@code packId} (its object was deleted). */
  public void remove(PackId packId) throws CatalogException {
    db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("DELETE FROM pack_backstops WHERE pack_id = ?")) {
        ps.setString(1, packId.hex());
        ps.executeUpdate();
      }
      return null;
    });
  }

  /** How many packs have a backstop. */
  public long count() throws CatalogException {
    return db.locked(() -> {
      try (PreparedStatement ps = db.connection().prepareStatement("SELECT COUNT(*) FROM pack_backstops");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }
}
