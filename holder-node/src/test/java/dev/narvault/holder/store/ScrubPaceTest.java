package dev.narvault.holder.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** A scrub pass is paced to take most of its interval: a big holder is still scrubbed daily, a small one gently. */
class ScrubPaceTest {
  private static final long MIB = 1 << 20;
  private static final long GIB = 1L << 30;

  @Test
  void pacedRate_500GiBOverADay_finishesWithin80PercentOfIt() {
    long rate = Scrubber.pacedRate(500 * GIB, Duration.ofHours(24), 64 * MIB);
    double hours = 500.0 * GIB / rate / 3600;
    assertEquals(19.2, hours, 0.01, "a pass takes 80% of the day, at " + rate / MIB + " MiB/s");
  }

  @Test
  void pacedRate_smallStore_goesAtTheFloor_andABigOneAtTheCap() {
    assertEquals(Scrubber.MIN_BYTES_PER_SECOND, Scrubber.pacedRate(GIB, Duration.ofHours(24), 64 * MIB));
    assertEquals(Scrubber.MIN_BYTES_PER_SECOND, Scrubber.pacedRate(0, Duration.ofHours(24), 64 * MIB));
    assertEquals(8 * MIB, Scrubber.pacedRate(20_000 * GIB, Duration.ofHours(24), 8 * MIB), "never past the cap");
    assertEquals(1, Scrubber.pacedRate(GIB, Duration.ofHours(24), 1), "a cap below the floor wins");
  }

  @Test
  void constructor_refusesANegativeInterval() {
    assertThrows(IllegalArgumentException.class, () -> new Scrubber(null, MIB, Duration.ofHours(-1), new LongAdder(),
        id -> { }));
  }
}
