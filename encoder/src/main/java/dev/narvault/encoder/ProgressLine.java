package dev.narvault.encoder;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * Progress of a long run: at most every {@value #EVERY_SECONDS} s, one line with what was archived,
 * the rate, rejections and drained objects. (The total is not known: the listing streams.)
 */
final class ProgressLine {
  static final int EVERY_SECONDS = 5;

  private final PrintStream out;
  private final Clock clock;
  private final Instant start;
  private Instant last;

  ProgressLine(PrintStream out, Clock clock) {
    this.out = out;
    this.clock = clock;
    this.start = clock.instant();
    this.last = start;
  }

  void update(int archived, long bytes, int rejected, long drained) {
    Instant now = clock.instant();
    if (Duration.between(last, now).getSeconds() < EVERY_SECONDS) {
      return;
    }
    last = now;
    double seconds = Math.max(1, Duration.between(start, now).toMillis()) / 1000.0;
    out.printf(Locale.ROOT, "progress: %d NARs archived, %.1f MiB at %.1f MiB/s, %d rejected, %d drained, %.0f s%n",
        archived, bytes / 1048576.0, bytes / 1048576.0 / seconds, rejected, drained, seconds);
  }
}
