package dev.narvault.core.s3;

import java.time.Instant;
import java.util.Optional;

/**
 * An object's key, size and last modification, as a listing or a HEAD returns them, and its ETag
 * where the store gave one (without quotes; for an object written by one plain PUT, S3 and
 * S3-compatible stores make it the hex MD5 of its bytes).
 */
public record StoredObject(String key, long size, Instant lastModified, Optional<String> etag) {
  public StoredObject(String key, long size, Instant lastModified) {
    this(key, size, lastModified, Optional.empty());
  }
}
