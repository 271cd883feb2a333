package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
/**
 * One archived NAR object: its store hash and S3 key, where it lies in its pack, and its narinfo
 * exactly as it was in the cache.
 */
public record ArchivedNar(
    String storeHash, String fileKey, String fileHash, PackId packId, long packOffset, long length,
    String narInfo) {}
