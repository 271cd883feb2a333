package dev.narvault.cli;

import java.util.Locale;
import picocli.CommandLine;

/**
 * Sizes on the command line: a number with an optional unit, binary ({@code KiB MiB GiB TiB}) or
 * decimal ({@code kB MB GB TB}), e.g. {@code 64MiB}, {@code 10GB}, {@code 4096}; speeds may add
 * {@code /s} ({@code 10MiB/s}).
 */
final class ByteSize implements CommandLine.ITypeConverter<Long> {
  @Override
  public Long convert(String value) {
    return parse(value);
  }

  static long parse(String value) {
    String v = value.strip();
    int split = 0;
    while (split < v.length() && (Character.isDigit(v.charAt(split)) || v.charAt(split) == '.')) {
      split++;
    }
    if (split == 0) {
      throw new CommandLine.TypeConversionException("not a size: '" + value + "' (e.g. 64MiB, 10GB, 4096)");
    }
    double number = Double.parseDouble(v.substring(0, split));
    String unit = v.substring(split).strip().toLowerCase(Locale.ROOT);
    // Speeds may be written as sizes per second: 10MiB/s.
    if (unit.endsWith("/s")) {
      unit = unit.substring(0, unit.length() - 2).strip();
    }
    long multiplier = switch (unit) {
      case "", "b" -> 1L;
      case "kib", "k" -> 1L << 10;
      case "mib", "m" -> 1L << 20;
      case "gib", "g" -> 1L << 30;
      case "tib", "t" -> 1L << 40;
      case "kb" -> 1_000L;
      case "mb" -> 1_000_000L;
      case "gb" -> 1_000_000_000L;
      case "tb" -> 1_000_000_000_000L;
      default -> throw new CommandLine.TypeConversionException(
          "unknown size unit '" + unit + "' in '" + value + "' (use KiB, MiB, GiB, TiB, kB, MB, GB, TB)");
    };
    double bytes = number * multiplier;
    if (bytes < 0 || bytes > Long.MAX_VALUE) {
      throw new CommandLine.TypeConversionException("size out of range: '" + value + "'");
    }
    return (long) bytes;
  }

  /** The shortest exact binary spelling {@link #parse} reads back: 1MiB, 64KiB, 1000. */
  static String format(long bytes) {
    String[] units = {"", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (unit < units.length - 1 && bytes != 0 && bytes % 1024 == 0) {
      bytes /= 1024;
      unit++;
    }
    return bytes + units[unit];
  }
}
