package dev.narvault.holder.server;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/**
 * A holder's settings, validated once at start.
 *
 * @param bind address and port to listen on (port 0 picks a free one)
 * @param dataDir where fragments live
 * @param capacityBytes the most fragment bytes this holder will store
 */
public record HolderConfig(InetSocketAddress bind, Path dataDir, long capacityBytes) {
  public HolderConfig {
    if (capacityBytes < 1) {
      throw new IllegalArgumentException("capacity must be at least 1 byte, got " + capacityBytes);
    }
    if (dataDir == null) {
      throw new IllegalArgumentException("a data directory is required");
    }
  }
}
