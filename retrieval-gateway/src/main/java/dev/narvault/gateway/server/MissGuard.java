package dev.narvault.gateway.server;

import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Protects the cache from enumeration and the backends from miss floods. Store hashes found
 * nowhere are remembered for a while (a negative cache, so repeated misses cost no S3 call), and
 * each client may only miss so often: a token bucket per client address, refilled at
 * {@code missesPerSecond} up to {@code burst}. Hits never spend tokens, so known public paths are
 * never slowed. Both maps are bounded (least recently used entries are dropped).
 */
final class MissGuard {
  private static final int MAX_ENTRIES = 100_000;

  private final InstantSource clock;
  private final double missesPerSecond;
  private final double burst;
  private final long negativeTtlMillis;
  private final Map<String, Long> absentUntil = lru();
  private final Map<String, double[]> buckets = lru();

  MissGuard(InstantSource clock, double missesPerSecond, double burst, long negativeTtlMillis) {
    if (missesPerSecond <= 0 || burst < 1 || negativeTtlMillis < 0) {
      throw new IllegalArgumentException("miss limits must be positive: " + missesPerSecond + "/s, burst " + burst);
    }
    this.clock = clock;
    this.missesPerSecond = missesPerSecond;
    this.burst = burst;
    this.negativeTtlMillis = negativeTtlMillis;
  }

  /** True when this client may not spend another miss now. */
  synchronized boolean overLimit(String client) {
    double[] b = refill(client);
    return b[0] < 1;
  }

  /** Spends one miss of this client's budget. */
  synchronized void spend(String client) {
    double[] b = refill(client);
    b[0] = Math.max(0, b[0] - 1);
  }

  /** True when the hash was found absent less than the negative TTL ago. */
  synchronized boolean knownAbsent(String hash) {
    Long until = absentUntil.get(hash);
    if (until == null) {
      return false;
    }
    if (until <= clock.millis()) {
      absentUntil.remove(hash);
      return false;
    }
    return true;
  }

  synchronized void rememberAbsent(String hash) {
    absentUntil.put(hash, clock.millis() + negativeTtlMillis);
  }

  /** [tokens, last refill millis] of a client, brought up to now. */
  private double[] refill(String client) {
    long now = clock.millis();
    double[] b = buckets.computeIfAbsent(client, c -> new double[] {burst, now});
    b[0] = Math.min(burst, b[0] + (now - b[1]) / 1000.0 * missesPerSecond);
    b[1] = now;
    return b;
  }

  private static <V> Map<String, V> lru() {
    return new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        return size() > MAX_ENTRIES;
      }
    };
  }
}
