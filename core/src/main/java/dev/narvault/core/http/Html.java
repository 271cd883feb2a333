package dev.narvault.core.http;

import java.util.Locale;

/**
 * The little HTML the dashboards need: escaping, sizes in words, and bar charts as inline SVG
 * (no script, no asset from anywhere else). Bars have the class {@code bar}; a limit drawn
 * across a chart the class {@code cap}.
 */
public final class Html {
  /** The dashboards' shared style: bars, limit lines, tracks, warnings. */
  public static final String STYLE = "body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:880px}"
      + "h1{font-size:20px}h2{font-size:16px;margin-top:24px;border-bottom:1px solid #ddd}"
      + "table{border-collapse:collapse}td{padding:2px 12px 2px 0}.warn{color:#a40}.ok{color:#070}"
      + ".bar{fill:#36c}.cap{stroke:#c33;stroke-dasharray:4 3}.track{fill:#eee}.label{font-size:11px;fill:#555}";

  private Html() {}

  /** Text safe inside HTML elements and attribute values. */
  public static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }

  /** A byte count in binary units, e.g. {@code 588.9 KiB}. */
  public static String bytes(long n) {
    String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = n;
    int u = 0;
    while (Math.abs(v) >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? n + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }

  /**
   * Appends a bar chart of {@code values} (left to right) with element id {@code id}, each bar
   * titled by {@code titles} (its tooltip) and labelled below by {@code labels} when not null; a
   * dashed line at {@code cap} when it is above 0. Bars scale to the larger of the highest value
   * and the cap.
   */
  public static void barChart(StringBuilder b, String id, long[] values, String[] titles, String[] labels, long cap) {
    int width = 480;
    int plot = 120;
    int height = labels == null ? plot : plot + 14;
    long top = Math.max(1, cap);
    for (long value : values) {
      top = Math.max(top, value);
    }
    double step = (double) width / Math.max(1, values.length);
    b.append("<svg id=\"").append(esc(id)).append("\" width=\"").append(width).append("\" height=\"").append(height)
        .append("\" role=\"img\"><rect class=\"track\" width=\"").append(width).append("\" height=\"").append(plot)
        .append("\"/>");
    for (int i = 0; i < values.length; i++) {
      double h = Math.max(values[i] > 0 ? 2 : 0, plot * (double) values[i] / top);
      b.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
          + "<title>%s</title></rect>", i * step + 1, plot - h, Math.max(1, step - 2), h, esc(titles[i])));
      if (labels != null) {
        b.append(String.format(Locale.ROOT, "<text class=\"label\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
            i * step + step / 2, plot + 12, esc(labels[i])));
      }
    }
    if (cap > 0) {
      double y = plot - plot * (double) cap / top;
      b.append(String.format(Locale.ROOT, "<line class=\"cap\" x1=\"0\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", width, y, y));
    }
    b.append("</svg>\n");
  }

  /** Appends a horizontal bar filled to {@code share} (0..1), with element id {@code id}. */
  public static void meter(StringBuilder b, String id, double share, int height) {
    b.append("<svg id=\"").append(esc(id)).append("\" width=\"480\" height=\"").append(height)
        .append("\" role=\"img\"><rect class=\"track\" width=\"480\" height=\"").append(height)
        .append("\"/><rect class=\"bar\" width=\"")
        .append(String.format(Locale.ROOT, "%.1f", Math.max(1, 480 * Math.max(0, Math.min(1, share)))))
        .append("\" height=\"").append(height).append("\"/></svg>\n");
  }
}
