package dev.narvault.core.catalog;

/**
 * One archived NAR object: its store hash and S3 key, where it lies in its pack, and its narinfo
 * exactly as it was in the cache.
 */
public record ArchivedNar(
    String storeHash, String fileKey, String fileHash, String packId, long packOffset, long length,
    String narInfo) {}
