package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ProgressLineTest {
  /** A clock the test moves. */
  private static final class Manual extends Clock {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void keyspaceShareFollowsTheHashAlphabet() {
    assertEquals(0.0, ProgressLine.keyspaceShare("0000abcd.narinfo").getAsDouble(), 1e-9);
    // 'h' is digit 16 of nix base32 (it has no e, o, u, t): half of the keys sort before it.
    assertEquals(0.5, ProgressLine.keyspaceShare("h000.narinfo").getAsDouble(), 1e-9);
    assertEquals(0.25, ProgressLine.keyspaceShare("8000").getAsDouble(), 1e-9);
    assertTrue(ProgressLine.keyspaceShare("zzzz").getAsDouble() > 0.99999);
    // Letters nix base32 lacks (e, o, u, t) and short keys give no estimate.
    assertTrue(ProgressLine.keyspaceShare("eeee").isEmpty());
    assertTrue(ProgressLine.keyspaceShare("ab").isEmpty());
  }

  @Test
  void logLinesEveryFiveSecondsWithAnEstimate() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Manual clock = new Manual();
    ProgressLine line = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), clock, false, Optional.of(ProgressLine.Span.WHOLE));
    clock.now = clock.now.plusSeconds(3);
    line.update("h000", 1, 1 << 20, 0, 0);
    assertEquals("", bytes.toString(StandardCharsets.UTF_8), "nothing before 5 s");
    clock.now = clock.now.plusSeconds(7);
    line.update("h000", 10, 20L << 20, 1, 2);
    String out = bytes.toString(StandardCharsets.UTF_8);
    // 10 s for the first half of the keyspace: about 10 s left.
    assertTrue(out.startsWith("progress: 50.0% of the cache, about 10 s left, 10 NARs archived, 20.0 MiB at 2.0 MiB/s,"),
        out);
    assertFalse(out.contains("\r"));
  }

  @Test
  void terminalBarIsRedrawnInPlaceAndMessagesGoAboveIt() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Manual clock = new Manual();
    ProgressLine line = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), clock, true, Optional.of(ProgressLine.Span.WHOLE));
    clock.now = clock.now.plus(Duration.ofMillis(1500));
    line.update("8000", 1, 0, 0, 0);
    line.message("pack 1 done");
    line.finish();
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(out.startsWith("\r\033[K[######                  ] 25.0% of the cache"), out);
    assertTrue(out.contains("\r\033[Kpack 1 done" + System.lineSeparator() + "[######"), out);
    assertTrue(out.endsWith(System.lineSeparator()), out);
  }

  @Test
  void noEstimateWhenTheRunIsLimited() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Manual clock = new Manual();
    ProgressLine line = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), clock, false, Optional.empty());
    clock.now = clock.now.plusSeconds(6);
    line.update("h000", 3, 0, 0, 0);
    assertTrue(bytes.toString(StandardCharsets.UTF_8).startsWith("progress: 3 NARs archived"));
  }

  @Test
  void aShardsShareIsOfItsOwnPartOfTheKeyspace() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Manual clock = new Manual();
    // Shard 2/2 lists from h000 (a half) to the end; at q000 (three quarters) it is half done.
    ProgressLine line = new ProgressLine(new PrintStream(bytes, true, StandardCharsets.UTF_8), clock, false,
        Optional.of(new ProgressLine.Span(0.5, 1, "shard 2/2")));
    clock.now = clock.now.plusSeconds(10);
    line.update("q000", 1, 0, 0, 0);
    assertTrue(bytes.toString(StandardCharsets.UTF_8).startsWith("progress: 50.0% of shard 2/2, about 10 s left"),
        bytes.toString(StandardCharsets.UTF_8));
    assertThrows(IllegalArgumentException.class, () -> new ProgressLine.Span(0.5, 0.5, "nothing"));
  }

  @Test
  void humanDurations() {
    assertEquals("59 s", ProgressLine.human(59));
    assertEquals("5 min", ProgressLine.human(300));
    assertEquals("3 h 05 min", ProgressLine.human(3 * 3600 + 300));
    assertEquals("3 d 1 h", ProgressLine.human(3 * 86400 + 3600));
  }
}
