package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MissGuardTest {
  private final AtomicLong now = new AtomicLong(1_000_000);
  private final InstantSource clock = () -> Instant.ofEpochMilli(now.get());

  private static GatewayConfig.MissLimits limits(double perSecond, double burst, long ttlMillis) {
    return new GatewayConfig.MissLimits(new GatewayConfig.Rate(perSecond, burst), Duration.ofMillis(ttlMillis));
  }

  @Test
  void retryAfter_saysWhenTheNextTokenComes() {
    MissGuard guard = new MissGuard(clock, limits(0.1, 1, 0));
    guard.spend("10.0.0.1");
    assertEquals(10, guard.retryAfter("10.0.0.1"), "0.1/s: ten seconds to a token");
    now.addAndGet(5_000);
    assertEquals(5, guard.retryAfter("10.0.0.1"));
  }

  @Test
  void rememberAbsent_withZeroTtl_remembersNothing() {
    MissGuard guard = new MissGuard(clock, limits(1, 1, 0));
    guard.rememberAbsent("abc");
    assertFalse(guard.knownAbsent("abc"));
  }

  @Test
  void overLimit_afterTheBurst_andRefillsAtTheRate() {
    MissGuard guard = new MissGuard(clock, limits(2, 3, 10_000));
    for (int i = 0; i < 3; i++) {
      assertFalse(guard.overLimit("10.0.0.1"), "miss " + i + " is within the burst");
      guard.spend("10.0.0.1");
    }
    assertTrue(guard.overLimit("10.0.0.1"));
    assertFalse(guard.overLimit("10.0.0.2"), "another client has its own budget");
    now.addAndGet(499);
    assertTrue(guard.overLimit("10.0.0.1"), "2/s: not yet a whole token after 499 ms");
    now.addAndGet(1);
    assertFalse(guard.overLimit("10.0.0.1"), "one token after 500 ms");
    now.addAndGet(60_000);
    for (int i = 0; i < 3; i++) {
      guard.spend("10.0.0.1");
    }
    assertTrue(guard.overLimit("10.0.0.1"), "refill is capped at the burst");
  }

  @Test
  void knownAbsent_forTheTtlOnly() {
    MissGuard guard = new MissGuard(clock, limits(1, 1, 30_000));
    assertFalse(guard.knownAbsent("abc"));
    guard.rememberAbsent("abc");
    assertTrue(guard.knownAbsent("abc"));
    now.addAndGet(29_999);
    assertTrue(guard.knownAbsent("abc"));
    now.addAndGet(1);
    assertFalse(guard.knownAbsent("abc"));
  }

  @Test
  void rejectsNonsenseLimits() {
    assertThrows(IllegalArgumentException.class, () -> limits(0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> limits(1, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> limits(1, 1, -1));
  }
}
