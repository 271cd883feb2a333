package dev.narvault.encoder.input;

import dev.narvault.core.sorted.SortedRecordFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Optional;

/**
 * When each NAR object was last modified, as S3 Inventories say: what {@code --older-than}
 * compares, without a HEAD request per object. NAR keys name file hashes, not store hashes, so
 * every shard needs all of them: they go to a {@link SortedRecordFile} on disk, 24 bytes each
 * (the first 16 bytes of the key's SHA-256, then the epoch millis), ~17 GB for the cache's
 * ~7 × 10^8 NARs. A narinfo's NAR is then one lookup away.
 */
public final class NarAges implements AutoCloseable {
  private static final int KEY = 16;
  private static final int RECORD = KEY + Long.BYTES;

  private final SortedRecordFile records;

  private NarAges(SortedRecordFile records) {
    this.records = records;
  }

  static NarAges build(KeyFiles.Rows rows, Path dir, long memoryBytes) throws IOException {
    try (SortedRecordFile.Builder builder = SortedRecordFile.builder(dir, KEY, RECORD, memoryBytes)) {
      MessageDigest sha256 = sha256();
      while (rows.advance()) {
        if (rows.lastModified() >= 0 && rows.key().startsWith("nar/")) {
          byte[] record = new byte[RECORD];
          System.arraycopy(digest(sha256, rows.key()), 0, record, 0, KEY);
          ByteBuffer.wrap(record, KEY, Long.BYTES).putLong(rows.lastModified());
          builder.add(record);
        }
      }
      return new NarAges(builder.finish());
    }
  }

  /** NAR objects the inventories know. */
  public long count() {
    return records.count();
  }

  /** When the object at {@code key} was last modified, if an inventory lists it. Safe from several threads. */
  public Optional<Instant> lastModified(String key) throws IOException {
    byte[] lookup = new byte[KEY];
    System.arraycopy(digest(sha256(), key), 0, lookup, 0, KEY);
    return records.find(lookup).map(r -> Instant.ofEpochMilli(ByteBuffer.wrap(r, KEY, Long.BYTES).getLong()));
  }

  private static byte[] digest(MessageDigest sha256, String key) {
    return sha256.digest(key.getBytes(StandardCharsets.UTF_8));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  /** Closes and deletes the file. */
  @Override
  public void close() throws IOException {
    records.close();
  }
}
