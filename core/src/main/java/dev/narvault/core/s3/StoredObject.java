package dev.narvault.core.s3;

import java.time.Instant;

/** An object's key, size and last modification, as a listing or a HEAD returns them. */
public record StoredObject(String key, long size, Instant lastModified) {}
