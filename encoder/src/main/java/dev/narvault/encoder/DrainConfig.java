package dev.narvault.encoder;

import dev.narvault.core.nix.TrustedKeys;
import java.util.Optional;

/**
 * What happens to a NAR object in S3 once it is archived. Without {@link Mode#DELETE} or
 * {@link Mode#MOVE} nothing is touched ({@link Mode#DRY_RUN}, the default) and the summary says
 * what a drain would remove.
 *
 * @param toBucket with {@link Mode#MOVE}: the bucket (same S3 store) the object is copied to first
 * @param storageClass with {@link Mode#MOVE}: the copy's storage class, e.g. {@code DEEP_ARCHIVE}
 * @param safetyThreshold r: drain only NARs of packs with at least k + r healthy fragments;
 *     negative: ⌈m/2⌉, the coordinator's repair threshold
 * @param archiveKeys the archive keys the gateway, coordinator and catalog rebuild trust: every NAR
 *     is read back through manifests verified with these (never with the key this run signs with,
 *     which would pass packs nobody else accepts); required to drain
 */
public record DrainConfig(Mode mode, Optional<String> toBucket, Optional<String> storageClass, int safetyThreshold,
    Optional<TrustedKeys> archiveKeys) {
  /** What a drain does. */
  public enum Mode { DRY_RUN, DELETE, MOVE }

  public static final DrainConfig DRY_RUN = new DrainConfig(Mode.DRY_RUN, Optional.empty(), Optional.empty(), -1,
      Optional.empty());

  public DrainConfig {
    if ((mode == Mode.MOVE) != toBucket.isPresent()) {
      throw new IllegalArgumentException("a drain to another bucket needs --drain-to-bucket, and only it");
    }
    if (storageClass.isPresent() && mode != Mode.MOVE) {
      throw new IllegalArgumentException("--storage-class applies to --drain-to-bucket only");
    }
    if (mode != Mode.DRY_RUN && archiveKeys.isEmpty()) {
      throw new IllegalArgumentException("a drain needs the trusted archive public keys (--archive-public-key): "
          + "it reads every NAR back through manifests verified with them before deleting anything");
    }
  }

  /** Deletes each verified object (with {@code keys}, the archive keys readers trust). */
  public static DrainConfig delete(TrustedKeys keys) {
    return new DrainConfig(Mode.DELETE, Optional.empty(), Optional.empty(), -1, Optional.of(keys));
  }

  public boolean drains() {
    return mode != Mode.DRY_RUN;
  }

  /** The r to use for a code with {@code m} parity fragments. */
  public int threshold(int parityFragmentCount) {
    return safetyThreshold >= 0 ? safetyThreshold : (parityFragmentCount + 1) / 2;
  }
}
