package dev.narvault.cli;

import dev.narvault.repair.simulation.SimulationResult;
import java.util.List;
import java.util.Locale;

/**
 * An SVG chart of simulation results, written by {@code narvault simulate --svg}: nines of
 * durability per pack-year (modelled; observed losses as rings) against storage overhead, one
 * point per code and threshold, with the goal line. No plotting library: a few SVG elements.
 */
final class SimulationPlot {
  private static final int WIDTH = 640;
  private static final int HEIGHT = 400;
  private static final int LEFT = 60;
  private static final int BOTTOM = 50;
  private static final double MAX_NINES = 20;

  private SimulationPlot() {}

  static String svg(List<SimulationResult> results, String title, double goalNines) {
    double minOverhead = 1.0;
    double maxOverhead = Math.max(2.2, results.stream().mapToDouble(SimulationResult::overhead).max().orElse(2) + 0.1);
    StringBuilder s = new StringBuilder();
    s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
    s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>%n", LEFT, escape(title)));
    int x0 = LEFT;
    int y0 = HEIGHT - BOTTOM;
    s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", x0, y0,
        WIDTH - 20, y0));
    s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", x0, y0, x0,
        40));
    for (double o = 1.0; o <= maxOverhead + 1e-9; o += 0.2) {
      double x = x(o, minOverhead, maxOverhead);
      s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1f×</text>%n", x,
          y0 + 18, o));
    }
    for (int nines = 0; nines <= MAX_NINES; nines += 4) {
      s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d</text>%n", x0 - 6,
          y(nines) + 4, nines));
    }
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">storage overhead (k+m)/k</text>%n",
        (WIDTH + LEFT) / 2, HEIGHT - 12));
    s.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" "
        + "text-anchor=\"middle\">nines per pack-year (model)</text>%n", HEIGHT / 2, HEIGHT / 2));
    s.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"green\" "
        + "stroke-dasharray=\"4 3\"/><text x=\"%d\" y=\"%.1f\" fill=\"green\">goal: %.0f nines</text>%n", x0,
        y(goalNines), WIDTH - 20, y(goalNines), WIDTH - 120, y(goalNines) - 4, goalNines));
    s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"40\" stroke=\"green\" "
        + "stroke-dasharray=\"4 3\"/>%n", x(2.0, minOverhead, maxOverhead), y0, x(2.0, minOverhead, maxOverhead)));
    for (SimulationResult r : results) {
      // Beyond 15 nines the model says only "more": drawn at the top of the chart.
      double nines = r.modelledLossPerPackYear() < 1e-15 ? MAX_NINES
          : Math.min(MAX_NINES, -Math.log10(r.modelledLossPerPackYear()));
      double x = x(r.overhead(), minOverhead, maxOverhead);
      double y = y(nines);
      String colour = r.availability() >= 0.999 ? "#1f77b4" : "#d62728";
      s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>%n", x, y, colour));
      if (r.losses() > 0) {
        s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"9\" fill=\"none\" stroke=\"black\"/>%n",
            x, y));
      }
      s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s r=%d</text>%n", x + 10, y + 4, r.code(),
          r.threshold()));
    }
    s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"11\">blue: availability ≥ 99.9 %%, "
        + "red: below; ring: losses observed in the run</text>%n", LEFT + 10, 38));
    return s.append("</svg>\n").toString();
  }

  private static double x(double overhead, double min, double max) {
    return LEFT + (overhead - min) / (max - min) * (WIDTH - LEFT - 20);
  }

  private static double y(double nines) {
    return HEIGHT - BOTTOM - nines / MAX_NINES * (HEIGHT - BOTTOM - 40);
  }

  private static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
