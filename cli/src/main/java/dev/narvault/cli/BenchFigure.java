package dev.narvault.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One figure a bench measured: a name for scripts, the value, its unit, and what it is in words.
 * {@link #print} writes them as a table, or with {@code --tsv} one line each: name, a tab, the
 * value, a tab, the unit.
 */
record BenchFigure(String name, double value, String unit, String what) {
  static void print(PrintStream out, boolean tsv, String heading, List<BenchFigure> figures) {
    if (tsv) {
      for (BenchFigure f : figures) {
        out.printf(Locale.ROOT, "%s\t%s\t%s%n", f.name(), format(f.value()), f.unit());
      }
      return;
    }
    out.println(heading);
    for (BenchFigure f : figures) {
      out.printf(Locale.ROOT, "%-28s %14s %-9s %s%n", f.name(), format(f.value()), f.unit(), f.what());
    }
  }

  /** Whole numbers as such, large ones rounded, the rest to three decimals. */
  static String format(double v) {
    return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.3f", v);
  }

  /** The p50 and p99 of {@code millis} (sorted in place) as two figures named {@code name-p50}, {@code name-p99}. */
  static List<BenchFigure> percentiles(String name, String what, double[] millis) {
    Arrays.sort(millis);
    int n = millis.length;
    if (n == 0) {
      return List.of();
    }
    return List.of(new BenchFigure(name + "-p50", millis[n / 2], "ms", what + ", median"),
        new BenchFigure(name + "-p99", millis[Math.min(n - 1, (int) Math.floor(n * 0.99))], "ms",
            what + ", 99th percentile"));
  }
}
