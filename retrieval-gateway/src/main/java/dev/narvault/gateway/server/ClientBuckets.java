package dev.narvault.gateway.server;

import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A token bucket per client: {@code perSecond} tokens refill each second, up to {@code burst}.
 * Bounded: the least recently seen clients are forgotten first (a forgotten client starts full,
 * which only forgives).
 */
final class ClientBuckets {
  private static final int MAX_CLIENTS = 100_000;

  private final InstantSource clock;
  private final GatewayConfig.Rate rate;
  /** [tokens, last refill millis] per client. */
  private final Map<String, double[]> buckets = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
      return size() > MAX_CLIENTS;
    }
  };

  ClientBuckets(InstantSource clock, GatewayConfig.Rate rate) {
    this.clock = clock;
    this.rate = rate;
  }

  /** True when this client has less than one token now. */
  synchronized boolean empty(String client) {
    return refill(client)[0] < 1;
  }

  /** Spends {@code tokens} of this client's bucket (down to zero, not below). */
  synchronized void spend(String client, double tokens) {
    double[] b = refill(client);
    b[0] = Math.max(0, b[0] - tokens);
  }

  /** Whole seconds until this client has a token again (at least 1). */
  synchronized long secondsUntilToken(String client) {
    double missing = 1 - refill(client)[0];
    return Math.max(1, (long) Math.ceil(missing / rate.perSecond()));
  }

  private double[] refill(String client) {
    long now = clock.millis();
    double[] b = buckets.computeIfAbsent(client, c -> new double[] {rate.burst(), now});
    b[0] = Math.min(rate.burst(), b[0] + (now - b[1]) / 1000.0 * rate.perSecond());
    b[1] = now;
    return b;
  }
}
