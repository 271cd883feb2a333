package dev.narvault.holder.server;

import dev.narvault.core.http.ServerLimits;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.holder.store.DiskFragmentStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A holder's settings, validated once at start.
 *
 * @param bind address and port to listen on (port 0 picks a free one)
 * @param dataDir where fragments and the identity key live
 * @param capacityBytes the most fragment bytes this holder will store
 * @param coordinatorKeys the keys whose signed orders allow writes and deletes (a retired one until its date)
 * @param coordinator where to register and send heartbeats and scrub reports (none: stay silent)
 * @param advertise the URL others reach this holder at (default: the bound address)
 * @param maxUploadBytesPerSecond cap on bytes sent to all clients together (0 = none)
 * @param maxDownloadBytesPerSecond cap on bytes received from all clients together (0 = none)
 * @param maxUploadBytesPerMonth the most fragment bytes served to clients in a calendar month in
 *     UTC, audits not counted (0 = no quota; see {@link UploadQuota})
 * @param scrubBytesPerSecond the fastest the background re-hashing of stored fragments reads
 * @param scrubInterval time between the starts of two scrub passes; each is paced to take most of it
 * @param heartbeatInterval time between heartbeats
 * @param trashFor how long deleted fragments stay in the trash, restorable (zero: deleted at once)
 * @param limits connections, header sizes and timeouts every client is held to
 * @param dashboard where the volunteer's dashboard listens (loopback by default), if anywhere
 */
public record HolderConfig(InetSocketAddress bind, Path dataDir, long capacityBytes, CoordinatorKeys coordinatorKeys,
    Optional<URI> coordinator, Optional<URI> advertise, long maxUploadBytesPerSecond, long maxDownloadBytesPerSecond,
    long maxUploadBytesPerMonth, long scrubBytesPerSecond, Duration scrubInterval, Duration heartbeatInterval,
    Duration trashFor, String operator, String location, ServerLimits limits, Optional<InetSocketAddress> dashboard) {

  public HolderConfig {
    if (capacityBytes < 1) {
      throw new IllegalArgumentException("capacity must be at least 1 byte, got " + capacityBytes);
    }
    if (dataDir == null) {
      throw new IllegalArgumentException("a data directory is required");
    }
    if (coordinatorKeys == null) {
      throw new IllegalArgumentException("the coordinator's public key is required: it authorises every write");
    }
    if (maxUploadBytesPerSecond < 0 || maxDownloadBytesPerSecond < 0) {
      throw new IllegalArgumentException("speed caps must be >= 0 (0 = none)");
    }
    if (maxUploadBytesPerMonth < 0) {
      throw new IllegalArgumentException("the monthly upload quota must be >= 0 (0 = none), got "
          + maxUploadBytesPerMonth);
    }
    if (scrubBytesPerSecond < 1) {
      throw new IllegalArgumentException("scrub speed must be >= 1 byte/s, got " + scrubBytesPerSecond);
    }
    if (scrubInterval.isNegative() || heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException("intervals must be positive");
    }
    if (trashFor == null || trashFor.isNegative()) {
      throw new IllegalArgumentException("trash time must be >= 0 (0 = delete at once), got " + trashFor);
    }
  }

  /**
   * Defaults: no coordinator URL, no caps, no monthly upload quota, scrub at 4 MiB/s once a day,
   * heartbeat every 30 s, deleted fragments kept in the trash for 7 days.
   */
  public static HolderConfig of(InetSocketAddress bind, Path dataDir, long capacityBytes, NixPublicKey coordinatorKey) {
    return of(bind, dataDir, capacityBytes, CoordinatorKeys.of(coordinatorKey));
  }

  /** The same defaults, with orders taken from {@code coordinatorKeys}. */
  public static HolderConfig of(InetSocketAddress bind, Path dataDir, long capacityBytes,
      CoordinatorKeys coordinatorKeys) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, Optional.empty(), Optional.empty(), 0, 0,
        0, 4L << 20, Duration.ofDays(1), Duration.ofSeconds(30), DiskFragmentStore.DEFAULT_TRASH_FOR, "", "",
        ServerLimits.defaults(), Optional.empty());
  }

  public HolderConfig withCoordinator(URI uri) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, Optional.of(uri), advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, trashFor, operator, location, limits, dashboard);
  }

  public HolderConfig withSpeeds(long upload, long download) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise, upload, download,
        maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval, heartbeatInterval, trashFor, operator, location,
        limits, dashboard);
  }

  /** The same with a monthly upload quota of {@code bytes} (0: none). */
  public HolderConfig withUploadQuota(long bytes) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, bytes, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, trashFor, operator, location, limits, dashboard);
  }

  public HolderConfig withScrub(long bytesPerSecond, Duration interval) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, bytesPerSecond, interval,
        heartbeatInterval, trashFor, operator, location, limits, dashboard);
  }

  public HolderConfig withHeartbeat(Duration interval) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        interval, trashFor, operator, location, limits, dashboard);
  }

  public HolderConfig withDescription(Optional<URI> advertised, String operatorName, String where) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertised,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, trashFor, operatorName, where, limits, dashboard);
  }

  public HolderConfig withLimits(ServerLimits serverLimits) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, trashFor, operator, location, serverLimits, dashboard);
  }

  /** How long deleted fragments stay restorable in the trash (zero: deleted at once). */
  public HolderConfig withTrashFor(Duration keep) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, keep, operator, location, limits, dashboard);
  }

  /** The same with the volunteer's dashboard listening at {@code address} (empty: no dashboard). */
  public HolderConfig withDashboard(Optional<InetSocketAddress> address) {
    return new HolderConfig(bind, dataDir, capacityBytes, coordinatorKeys, coordinator, advertise,
        maxUploadBytesPerSecond, maxDownloadBytesPerSecond, maxUploadBytesPerMonth, scrubBytesPerSecond, scrubInterval,
        heartbeatInterval, trashFor, operator, location, limits, address);
  }
}
