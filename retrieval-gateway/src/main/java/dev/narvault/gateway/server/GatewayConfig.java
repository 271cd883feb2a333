package dev.narvault.gateway.server;

import java.net.InetSocketAddress;

/**
 * The gateway's settings.
 *
 * @param bind address and port (0 picks a free port)
 * @param priority the {@code Priority} in nix-cache-info; lower is preferred by Nix, and a missing
 *     one means 0, which would outrank cache.nixos.org (40): the archive defaults to 50
 */
public record GatewayConfig(InetSocketAddress bind, int priority) {
  public static final int DEFAULT_PRIORITY = 50;

  public GatewayConfig {
    if (priority < 0 || priority > 1000) {
      throw new IllegalArgumentException("priority must be 0..1000, got " + priority);
    }
  }
}
