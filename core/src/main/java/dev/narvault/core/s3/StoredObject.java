package dev.narvault.core.s3;

/** An object's key and size, as a listing returns it. */
public record StoredObject(String key, long size) {}
