package dev.narvault.cli;

import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine;

/** Durations on the command line: a number and a unit, {@code ms s m h d} ({@code 90s}, {@code 1h}, {@code 7d}). */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  @Override
  public Duration convert(String value) {
    return parse(value);
  }

  static Duration parse(String value) {
    String v = value.strip().toLowerCase(Locale.ROOT);
    int split = 0;
    while (split < v.length() && Character.isDigit(v.charAt(split))) {
      split++;
    }
    if (split == 0 || split > 12) {
      throw new IllegalArgumentException("not a duration: '" + value + "' (e.g. 90s, 5m, 1h, 7d)");
    }
    long n = Long.parseLong(v.substring(0, split));
    return switch (v.substring(split)) {
      case "ms" -> Duration.ofMillis(n);
      case "s", "" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> throw new IllegalArgumentException("unknown unit in duration '" + value + "' (use ms, s, m, h or d)");
    };
  }
}
