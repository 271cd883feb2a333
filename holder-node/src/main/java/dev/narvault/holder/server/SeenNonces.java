package dev.narvault.holder.server;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * The nonces of the orders this holder accepted, each until its order expires: an order is good
 * once. Kept in memory (orders live an hour at most); a restart forgets them, so a replay is
 * possible only within an order's lifetime across a restart of this holder.
 */
final class SeenNonces {
  /** More live orders than this at once means something is wrong; the oldest are forgotten. */
  static final int MAX = 1_000_000;

  private final Map<String, Instant> seen = new HashMap<>();

  /** True the first time {@code nonce} is offered (and remembers it until {@code expires}). */
  synchronized boolean firstUse(String nonce, Instant expires, Instant now) {
    if (seen.size() >= MAX / 2) {
      seen.values().removeIf(e -> !e.isAfter(now));
      if (seen.size() >= MAX) {
        seen.clear();
      }
    }
    Instant known = seen.get(nonce);
    if (known != null && known.isAfter(now)) {
      return false;
    }
    seen.put(nonce, expires);
    return true;
  }
}
