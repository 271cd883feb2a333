package dev.narvault.gateway.server;

import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Protects the cache from enumeration and the backends from miss floods, on every route whose
 * answer tells whether something exists. Keys found nowhere are remembered for a while (a
 * negative cache, so repeated misses cost no S3 call), and each client may only miss so often: a
 * token bucket per client. Hits never spend tokens, so known public paths are never slowed. Both
 * maps are bounded (least recently used entries are dropped).
 */
final class MissGuard {
  private static final int MAX_ENTRIES = 100_000;

  private final InstantSource clock;
  private final long negativeTtlMillis;
  private final ClientBuckets buckets;
  private final Map<String, Long> absentUntil = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  MissGuard(InstantSource clock, GatewayConfig.MissLimits limits) {
    this.clock = clock;
    this.negativeTtlMillis = limits.negativeTtl().toMillis();
    this.buckets = new ClientBuckets(clock, limits.rate());
  }

  /** True when this client may not spend another miss now. */
  boolean overLimit(String client) {
    return buckets.empty(client);
  }

  /** Seconds until this client may miss again. */
  long retryAfter(String client) {
    return buckets.secondsUntilToken(client);
  }

  /** Spends one miss of this client's budget. */
  void spend(String client) {
    buckets.spend(client, 1);
  }

  /** True when the key was found absent less than the negative TTL ago. */
  synchronized boolean knownAbsent(String key) {
    Long until = absentUntil.get(key);
    if (until == null) {
      return false;
    }
    if (until <= clock.millis()) {
      absentUntil.remove(key);
      return false;
    }
    return true;
  }

  synchronized void rememberAbsent(String key) {
    if (negativeTtlMillis > 0) {
      absentUntil.put(key, clock.millis() + negativeTtlMillis);
    }
  }
}
