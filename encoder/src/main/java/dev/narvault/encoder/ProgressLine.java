package dev.narvault.encoder;

import dev.narvault.core.nix.NixBase32;
import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Progress of a long run: what was archived, the rate, rejections, drained objects, and how far
 * through the cache the run is, with an estimate of the time left.
 *
 * <p>The listing streams, so the total is not counted in advance; but narinfo keys start with a
 * store path hash, and hashes are uniform: the position of the key being handled in the space of
 * hashes is the share of the listing done. The estimate assumes the rest of the cache looks like
 * what was seen so far, and is not shown when the run stops at a {@code --limit} or reads its
 * keys from files. A run that lists one shard, or continues a listing from a checkpoint, lists a
 * part of the key space (a {@link Span}): the share done is of that part.
 *
 * <p>On a terminal, one bar redrawn in place every second (messages are printed above it);
 * otherwise a plain line every {@value #EVERY_SECONDS} s, for logs.
 */
final class ProgressLine {
  static final int EVERY_SECONDS = 5;
  private static final int BAR = 24;

  private final PrintStream out;
  private final Clock clock;
  private final boolean terminal;
  private final Optional<Span> span;
  private final Instant start;
  private Instant last;
  private String drawn = "";

  /**
   * The part of the key space a run lists, as shares of all keys, and what to call it.
   *
   * @param from the share of all keys before the run's first
   * @param to the share of all keys before the run's end
   * @param name e.g. {@code the cache}, {@code shard 2/4}
   */
  record Span(double from, double to, String name) {
    static final Span WHOLE = new Span(0, 1, "the cache");

    Span {
      if (!(from >= 0 && from < to && to <= 1)) {
        throw new IllegalArgumentException("a span needs 0 <= from < to <= 1, got " + from + " to " + to);
      }
    }

    /** The share of the span done once {@code key} is reached, 0 to 1, or empty. */
    OptionalDouble done(String key) {
      OptionalDouble share = keyspaceShare(key);
      if (share.isEmpty()) {
        return share;
      }
      return OptionalDouble.of(Math.clamp((share.getAsDouble() - from) / (to - from), 0.0, 1.0));
    }
  }

  /**
   * @param terminal draw a bar in place (an interactive terminal) rather than log lines
   * @param span the part of the key space the run lists, whose share done predicts the end;
   *     empty when it does not (a limit, keys from files)
   */
  ProgressLine(PrintStream out, Clock clock, boolean terminal, Optional<Span> span) {
    this.out = out;
    this.clock = clock;
    this.terminal = terminal;
    this.span = span;
    this.start = clock.instant();
    this.last = start;
  }

  /**
   * The share of all narinfo keys that sort before {@code key}, from its first characters, or
   * empty when the key does not start with a store path hash.
   */
  static OptionalDouble keyspaceShare(String key) {
    if (key == null || key.length() < 4) {
      return OptionalDouble.empty();
    }
    double share = 0;
    double scale = 1;
    for (int i = 0; i < 4; i++) {
      int digit = NixBase32.digit(key.charAt(i));
      if (digit < 0) {
        return OptionalDouble.empty();
      }
      scale /= 32;
      share += digit * scale;
    }
    return OptionalDouble.of(share);
  }

  /** Shows the state after handling {@code key}, if it is time to. */
  synchronized void update(String key, int archived, long bytes, int rejected, long drained) {
    Instant now = clock.instant();
    long every = terminal ? 1000 : EVERY_SECONDS * 1000L;
    if (Duration.between(last, now).toMillis() < every) {
      return;
    }
    last = now;
    double seconds = Math.max(1, Duration.between(start, now).toMillis()) / 1000.0;
    OptionalDouble share = span.isPresent() ? span.get().done(key) : OptionalDouble.empty();
    String where = "";
    if (share.isPresent() && share.getAsDouble() > 0) {
      double done = share.getAsDouble();
      long left = Math.round(seconds * (1 - done) / done);
      where = String.format(Locale.ROOT, "%s%.1f%% of %s, about %s left, ", terminal ? bar(done) + " " : "",
          100 * done, span.get().name(), human(left));
    }
    String text = String.format(Locale.ROOT, "%s%d NARs archived, %.1f MiB at %.1f MiB/s, %d rejected, %d drained, %s",
        where, archived, bytes / 1048576.0, bytes / 1048576.0 / seconds, rejected, drained, human(Math.round(seconds)));
    if (terminal) {
      drawn = text;
      out.print("\r\033[K" + text);
      out.flush();
    } else {
      out.println("progress: " + text);
    }
  }

  /** Prints a message line; on a terminal above the bar, which is drawn again below it. */
  synchronized void message(String line) {
    if (terminal && !drawn.isEmpty()) {
      out.print("\r\033[K" + line + System.lineSeparator() + drawn);
      out.flush();
    } else {
      out.println(line);
    }
  }

  /** Ends the bar's line so that what follows starts on a line of its own. */
  synchronized void finish() {
    if (terminal && !drawn.isEmpty()) {
      out.println();
      drawn = "";
    }
  }

  private static String bar(double done) {
    int full = (int) Math.min(BAR, Math.round(done * BAR));
    return "[" + "#".repeat(full) + " ".repeat(BAR - full) + "]";
  }

  static String human(long seconds) {
    if (seconds < 120) {
      return seconds + " s";
    }
    if (seconds < 2 * 3600) {
      return seconds / 60 + " min";
    }
    if (seconds < 2 * 86400) {
      return String.format(Locale.ROOT, "%d h %02d min", seconds / 3600, seconds / 60 % 60);
    }
    return String.format(Locale.ROOT, "%d d %d h", seconds / 86400, seconds / 3600 % 24);
  }
}
