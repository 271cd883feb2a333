package dev.narvault.gateway.server;

import dev.narvault.core.http.ServerLimits;
import java.net.InetSocketAddress;

/**
 * The gateway's settings.
 *
 * @param bind address and port (0 picks a free port)
 * @param priority the {@code Priority} in nix-cache-info; lower is preferred by Nix, and a missing
 *     one means 0, which would outrank cache.nixos.org (40): the archive defaults to 50
 * @param missesPerSecond how fast one client may ask for paths that exist nowhere (refill rate)
 * @param missBurst how many such misses a client may make at once
 * @param negativeTtlMillis how long a path found nowhere is remembered as absent
 * @param limits connections, header sizes and timeouts every client is held to
 */
public record GatewayConfig(InetSocketAddress bind, int priority, double missesPerSecond, double missBurst,
    long negativeTtlMillis, ServerLimits limits) {
  public static final int DEFAULT_PRIORITY = 50;

  public GatewayConfig {
    if (priority < 0 || priority > 1000) {
      throw new IllegalArgumentException("priority must be 0..1000, got " + priority);
    }
    if (missesPerSecond <= 0 || missBurst < 1 || negativeTtlMillis < 0) {
      throw new IllegalArgumentException("miss limits must be positive, got " + missesPerSecond + "/s, burst "
          + missBurst + ", ttl " + negativeTtlMillis + " ms");
    }
  }

  /** Defaults: 20 misses/s per client with bursts of 200, absent paths remembered 30 s. */
  public GatewayConfig(InetSocketAddress bind, int priority) {
    this(bind, priority, 20, 200, 30_000);
  }

  public GatewayConfig(InetSocketAddress bind, int priority, double missesPerSecond, double missBurst,
      long negativeTtlMillis) {
    this(bind, priority, missesPerSecond, missBurst, negativeTtlMillis, ServerLimits.defaults());
  }

  public GatewayConfig withLimits(ServerLimits serverLimits) {
    return new GatewayConfig(bind, priority, missesPerSecond, missBurst, negativeTtlMillis, serverLimits);
  }
}
