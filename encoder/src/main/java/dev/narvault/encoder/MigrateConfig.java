package dev.narvault.encoder;

import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.nix.TrustedKeys;
import java.nio.file.Path;

/**
 * What a migration run does, validated once.
 *
 * @param trustedKeys narinfos must carry a valid signature by one of these
 * @param workDir where packs and fragments are spooled before they are placed
 * @param limit stop after archiving this many NARs (0 = no limit)
 * @param selection which NARs to archive (cold ones, listed ones, not excluded ones)
 * @param drain what to do with archived NARs in S3 (default: nothing, a dry run)
 */
public record MigrateConfig(TrustedKeys trustedKeys, int dataFragmentCount,
    int parityFragmentCount, long packSize, int blockSize, Codecs.Kind codec, Path workDir, int limit,
    ColdSelection selection, DrainConfig drain) {
  /** Everything selected, nothing drained. */
  public MigrateConfig(TrustedKeys trustedKeys, int dataFragmentCount, int parityFragmentCount, long packSize,
      int blockSize, Codecs.Kind codec, Path workDir, int limit) {
    this(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec, workDir, limit,
        ColdSelection.ALL, DrainConfig.DRY_RUN);
  }

  public MigrateConfig with(ColdSelection cold, DrainConfig drainConfig) {
    return new MigrateConfig(trustedKeys, dataFragmentCount, parityFragmentCount, packSize, blockSize, codec,
        workDir, limit, cold, drainConfig);
  }

  public MigrateConfig {
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
    if (limit < 0) {
      throw new IllegalArgumentException("limit must be >= 0, got " + limit);
    }
  }
}
