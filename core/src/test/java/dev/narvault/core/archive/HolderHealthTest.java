package dev.narvault.core.archive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HolderHealthTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(5 * SECOND);
  private final HolderHealth health = new HolderHealth(Duration.ofSeconds(10), Duration.ofSeconds(40), now::get);

  @Test
  void failed_avoidsTheHolderForTheBackoff_thenOneProbe() {
    String h = "http://127.0.0.2:1";
    assertTrue(health.tryUse(h));
    health.failed(h);
    assertFalse(health.usable(h));
    assertFalse(health.tryUse(h));
    now.addAndGet(10 * SECOND);
    assertTrue(health.usable(h));
    assertTrue(health.tryUse(h), "the back-off passed: one probe");
    assertFalse(health.tryUse(h), "others keep away while it probes");
    assertEquals(1, health.avoided());
  }

  @Test
  void failuresInARow_doubleTheBackoff_upToTheMax() {
    String h = "http://127.0.0.2:1";
    long[] expected = {10, 20, 40, 40};
    for (long seconds : expected) {
      health.failed(h);
      now.addAndGet(seconds * SECOND - 1);
      assertFalse(health.usable(h), "still backing off just before " + seconds + " s");
      now.addAndGet(1);
      assertTrue(health.usable(h), "free after " + seconds + " s");
    }
  }

  @Test
  void answered_forgetsFailures_andAveragesTimePerMiB() {
    String h = "http://127.0.0.2:1";
    health.failed(h);
    health.failed(h);
    health.answered(h, 100_000_000L, 1 << 20);
    assertTrue(health.tryUse(h));
    assertEquals(100.0, health.millisPerMiB(h), 1e-9);
    // 50 ms for half a MiB is 100 ms per MiB again; 100 ms for 2 MiB is 50.
    health.answered(h, 50_000_000L, 1 << 19);
    assertEquals(100.0, health.millisPerMiB(h), 1e-9);
    health.answered(h, 100_000_000L, 2 << 20);
    assertEquals(90.0, health.millisPerMiB(h), 1e-9);
    health.failed(h);
    now.addAndGet(10 * SECOND);
    assertTrue(health.usable(h), "after a success the back-off starts again from the base");
  }

  @Test
  void unknownHolders_areUsable() {
    assertTrue(health.usable("http://127.0.0.9:1"));
    assertTrue(Double.isNaN(health.millisPerMiB("http://127.0.0.9:1")));
  }

  @Test
  void aTinyRead_isTimedAsAtLeastTheFloor() {
    String h = "http://127.0.0.3:1";
    // 1 ms for 100 bytes is not 10 s per MiB: the round trip dominates a read that small.
    health.answered(h, 1_000_000L, 100);
    assertEquals(16.0, health.millisPerMiB(h), 1e-9);
  }

  @Test
  void aReadThatSharedTheHolder_measuresTheHolder_andANewReadExpectsToShareItToo() {
    String h = "http://127.0.0.4:1";
    assertEquals(1, health.begin(h));
    assertEquals(2, health.begin(h));
    // Two reads of 1 MiB at once, each taking 200 ms: the holder sends a MiB in 100 ms.
    health.answered(h, 200_000_000L, 1 << 20, 2);
    health.end(h);
    assertEquals(100.0, health.millisPerMiB(h), 1e-9);
    assertEquals(1, health.inFlight(h));
    assertEquals(200.0, health.expectedMillis(h, 1 << 20), 1e-9, "a new read joins the one still in flight");
    health.end(h);
    assertEquals(50.0, health.expectedMillis(h, 1 << 19), 1e-9, "alone again");
    health.end(h);
    assertEquals(0, health.inFlight(h), "never below none");
  }
}
