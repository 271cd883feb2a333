package dev.narvault.encoder;

import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.TrustedKeys;
import java.nio.file.Path;
import java.util.List;

/**
 * What a migration run does, validated once.
 *
 * @param trustedKeys narinfos must carry a valid signature by one of these
 * @param workDir where packs and fragments are spooled before they are placed
 * @param limit stop after archiving this many NARs (0 = no limit)
 * @param selection which NARs to archive (cold ones, listed ones, not excluded ones)
 * @param drain what to do with archived NARs in S3 (default: nothing, a dry run)
 * @param claimLifetime how long this worker's claims on S3 objects last unless renewed (it renews
 *     them while it runs): another worker takes over a dead worker's objects after this
 * @param keysFrom files to read narinfo keys from (key lists, S3 Inventory manifests: see
 *     {@link dev.narvault.encoder.input.KeyFiles}); empty: list the bucket
 * @param restartListing list from the start of the shard even if an earlier run saved where its
 *     listing stopped
 * @param backstop where each sealed pack's copy of last resort goes, if anywhere
 */
public record MigrateConfig(TrustedKeys trustedKeys, int dataFragmentCount,
    int parityFragmentCount, long packSize, int blockSize, Codecs.Kind codec, Path workDir, int limit,
    ColdSelection selection, DrainConfig drain, java.time.Duration claimLifetime, List<Path> keysFrom,
    boolean restartListing, java.util.Optional<Backstop> backstop) {
  /**
   * A backstop bucket ({@code --backstop-bucket}) in the cache's S3 store: one object per sealed
   * pack, placed and checked before any NAR of the pack is drained.
   *
   * @param storageClass the objects' storage class, e.g. {@code STANDARD_IA} or {@code GLACIER_IR}:
   *     one that serves ranged GETs at once, since the gateway and repair read backstops that way
   *     ({@code GLACIER} and {@code DEEP_ARCHIVE} need a restore first, so they are refused)
   */
  public record Backstop(String bucket, java.util.Optional<String> storageClass) {
    /** Storage classes whose objects cannot be read without a restore (hours): no backstop then. */
    static final java.util.Set<String> UNREADABLE_CLASSES = java.util.Set.of("GLACIER", "DEEP_ARCHIVE");

    public Backstop {
      if (bucket.isEmpty() || bucket.contains("/")) {
        throw new IllegalArgumentException("not a bucket name: '" + bucket + "'");
      }
      if (storageClass.filter(c -> UNREADABLE_CLASSES.contains(c.toUpperCase(java.util.Locale.ROOT))).isPresent()) {
        throw new IllegalArgumentException("backstop storage class " + storageClass.get() + " cannot be read without "
            + "a restore, and the gateway and repair read backstops at once: use STANDARD_IA or GLACIER_IR");
      }
    }
  }

  /** Without a backstop. */
  public MigrateConfig(TrustedKeys trustedKeys, int dataFragmentCount, int parityFragmentCount, long packSize,
      int blockSize, Codecs.Kind codec, Path workDir, int limit, ColdSelection selection, DrainConfig drain,
      java.time.Duration claimLifetime, List<Path> keysFrom, boolean restartListing) {
    this(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec, workDir, limit, selection,
        drain, claimLifetime, keysFrom, restartListing, java.util.Optional.empty());
  }

  /** Gives every sealed pack a backstop in {@code to}. */
  public MigrateConfig withBackstop(Backstop to) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, selection, drain, claimLifetime, keysFrom, restartListing, java.util.Optional.of(to));
  }

  /** The default claim lifetime: a dead worker's objects are free again within a minute. */
  public static final java.time.Duration DEFAULT_CLAIM_LIFETIME = java.time.Duration.ofSeconds(60);

  /** Everything selected, nothing drained. */
  public MigrateConfig(TrustedKeys trustedKeys, int dataFragmentCount, int parityFragmentCount, long packSize,
      int blockSize, Codecs.Kind codec, Path workDir, int limit) {
    this(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec, workDir, limit,
        ColdSelection.ALL, DrainConfig.DRY_RUN, DEFAULT_CLAIM_LIFETIME, List.of(), false);
  }

  public MigrateConfig with(ColdSelection cold, DrainConfig drainConfig) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, cold, drainConfig, claimLifetime, keysFrom, restartListing, backstop);
  }

  public MigrateConfig withClaimLifetime(java.time.Duration lifetime) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, selection, drain, lifetime, keysFrom, restartListing, backstop);
  }

  /** Reads narinfo keys from these files (none: lists the bucket); see {@link #keysFrom()}. */
  public MigrateConfig withKeysFrom(List<Path> files) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, selection, drain, claimLifetime, files, restartListing, backstop);
  }

  /** Lists from the start even where an earlier run saved a checkpoint. */
  public MigrateConfig withRestartListing(boolean restart) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, selection, drain, claimLifetime, keysFrom, restart, backstop);
  }

  public MigrateConfig {
    keysFrom = List.copyOf(keysFrom);
    if (dataFragmentCount < 1 || parityFragmentCount < 1 || dataFragmentCount + parityFragmentCount > 256) {
      throw new IllegalArgumentException("need k >= 1, m >= 1, k + m <= 256; got k=" + dataFragmentCount
          + " m=" + parityFragmentCount);
    }
    if (packSize < 1) {
      throw new IllegalArgumentException("pack size must be >= 1 byte, got " + packSize);
    }
    if (blockSize < 512 || blockSize > (16 << 20)) {
      throw new IllegalArgumentException("block size must be 512 B to 16 MiB, got " + blockSize);
    }
    if (claimLifetime.compareTo(java.time.Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException("claim lifetime must be at least 1 s, got " + claimLifetime);
    }
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, got " + limit);
    }
  }
}
