package dev.narvault.gateway.server;

import dev.narvault.core.http.ServerLimits;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The gateway's settings.
 *
 * @param bind address and port (0 picks a free port)
 * @param priority the {@code Priority} in nix-cache-info; lower is preferred by Nix, and a missing
 *     one means 0, which would outrank cache.nixos.org (40): the archive defaults to 50
 * @param misses how often one client may ask for what exists nowhere, and how long such an answer
 *     is remembered
 * @param clientIdentity who a request comes from behind trusted proxies (by default: its peer)
 * @param cache where rebuilt NARs are kept, and how many bytes of them
 * @param overhead how many holder bytes beyond what it receives a client may cost (decoding, block
 *     rounding, tiny ranges): a token bucket per client
 * @param limits connections, header sizes and timeouts every client is held to
 * @param spreadReads a whole NAR over every data fragment, all holders up, is read from all n
 *     fragments, each stripe from a different k of them (parity decoded), so all n links are busy
 */
public record GatewayConfig(InetSocketAddress bind, int priority, MissLimits misses, ClientIdentity clientIdentity,
    CacheSettings cache, Rate overhead, ServerLimits limits, boolean spreadReads) {
  public static final int DEFAULT_PRIORITY = 50;

  /** A token bucket: {@code perSecond} refill, up to {@code burst}. */
  public record Rate(double perSecond, double burst) {
    public Rate {
      if (!(perSecond > 0) || !(burst >= 1)) {
        throw new IllegalArgumentException("a rate needs perSecond > 0 and burst >= 1, got " + perSecond + "/s, burst "
            + burst);
      }
    }
  }

  /**
   * @param rate misses per client: 20/s in bursts of 200 by default
   * @param negativeTtl how long something found nowhere is answered 404 without asking S3
   */
  public record MissLimits(Rate rate, Duration negativeTtl) {
    public static final MissLimits DEFAULTS = new MissLimits(new Rate(20, 200), Duration.ofSeconds(30));

    public MissLimits {
      if (negativeTtl.isNegative()) {
        throw new IllegalArgumentException("negative TTL must be >= 0, got " + negativeTtl);
      }
    }
  }

  /**
   * @param dir where rebuilt NARs are kept, and rebuilt (a temporary directory when empty)
   * @param maxBytes at most this many bytes of them kept (0: none)
   * @param spoolBytes at most this many bytes of NARs being rebuilt: each is rebuilt into a file
   *     of its own, once for all who ask meanwhile, every fragment it spans read at once (the file
   *     is the reorder buffer); a NAR that finds no room is read by each request, in order, one
   *     fragment after the other (0: always so)
   */
  public record CacheSettings(Optional<Path> dir, long maxBytes, long spoolBytes) {
    public static final long DEFAULT_SPOOL_BYTES = 4L << 30;
    public static final CacheSettings DEFAULTS = new CacheSettings(Optional.empty(), 1L << 30);

    public CacheSettings {
      if (maxBytes < 0 || spoolBytes < 0) {
        throw new IllegalArgumentException("cache and spool sizes must be >= 0, got " + maxBytes + ", " + spoolBytes);
      }
    }

    /** With the default spool. */
    public CacheSettings(Optional<Path> dir, long maxBytes) {
      this(dir, maxBytes, DEFAULT_SPOOL_BYTES);
    }
  }

  /** 8 MiB/s of overhead per client, in bursts of 256 MiB. */
  public static final Rate DEFAULT_OVERHEAD = new Rate(8 << 20, 256 << 20);

  public GatewayConfig {
    if (priority < 0 || priority > 1000) {
      throw new IllegalArgumentException("priority must be 0..1000, got " + priority);
    }
  }

  /** Defaults for everything but where to listen and the priority. */
  public GatewayConfig(InetSocketAddress bind, int priority) {
    this(bind, priority, MissLimits.DEFAULTS, ClientIdentity.PEER, CacheSettings.DEFAULTS, DEFAULT_OVERHEAD,
        ServerLimits.defaults(), true);
  }

  public GatewayConfig withMisses(MissLimits limits) {
    return new GatewayConfig(bind, priority, limits, clientIdentity, cache, overhead, this.limits, spreadReads);
  }

  public GatewayConfig withClientIdentity(ClientIdentity identity) {
    return new GatewayConfig(bind, priority, misses, identity, cache, overhead, limits, spreadReads);
  }

  public GatewayConfig withCache(CacheSettings settings) {
    return new GatewayConfig(bind, priority, misses, clientIdentity, settings, overhead, limits, spreadReads);
  }

  public GatewayConfig withOverhead(Rate rate) {
    return new GatewayConfig(bind, priority, misses, clientIdentity, cache, rate, limits, spreadReads);
  }

  public GatewayConfig withLimits(ServerLimits serverLimits) {
    return new GatewayConfig(bind, priority, misses, clientIdentity, cache, overhead, serverLimits, spreadReads);
  }

  public GatewayConfig withSpreadReads(boolean spread) {
    return new GatewayConfig(bind, priority, misses, clientIdentity, cache, overhead, limits, spread);
  }
}
