package dev.narvault.repair;

import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * At most {@value #BURST} registrations per network at once, refilled one per
 * {@value #REFILL_MILLIS} ms: enough for every holder of a machine room to restart, too few for one
 * network to flood the registry with identities. Remembers at most {@value #NETWORKS} networks.
 */
final class RegistrationLimiter {
  static final int BURST = 32;
  static final long REFILL_MILLIS = 10_000;
  static final int NETWORKS = 10_000;

  private final InstantSource clock;
  private final Map<String, double[]> buckets = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
      return size() > NETWORKS;
    }
  };

  RegistrationLimiter(InstantSource clock) {
    this.clock = clock;
  }

  synchronized boolean tryAcquire(String network) {
    long now = clock.millis();
    // [tokens, last refill millis]
    double[] b = buckets.computeIfAbsent(network, n -> new double[] {BURST, now});
    b[0] = Math.min(BURST, b[0] + (now - b[1]) / (double) REFILL_MILLIS);
    b[1] = now;
    if (b[0] < 1) {
      return false;
    }
    b[0] -= 1;
    return true;
  }
}
