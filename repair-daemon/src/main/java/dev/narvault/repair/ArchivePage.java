package dev.narvault.repair;

import dev.narvault.core.catalog.Journal;
import dev.narvault.core.http.Html;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/**
 * The archive's dashboard on the coordinator: packs by fragments missing (a histogram), the repair
 * queue, holders by state, bytes archived and drained, and what the drained bytes save in S3 each
 * month at a given price. One server-rendered page with inline SVG; every number is the one
 * {@code /metrics} reports, and has an element id.
 */
final class ArchivePage {
  private static final double GIB = 1024.0 * 1024 * 1024;

  private ArchivePage() {}

  static String render(CoordinatorMetrics m, double s3PricePerGiBMonth, long nowMillis) {
    StringBuilder b = new StringBuilder(8192);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"refresh\" content=\"30\"><title>narvault archive</title><style>")
        .append(Html.STYLE).append("</style></head><body>\n<h1>narvault archive</h1>\n<p>")
        .append(Instant.ofEpochMilli(nowMillis)).append("</p>\n");

    b.append("<h2>Packs</h2>\n<table>");
    row(b, "packs", "packs-total", Long.toString(m.packsTotal()));
    row(b, "degraded (fewer than k + m counted)", "packs-degraded", Long.toString(m.packsDegraded()));
    row(b, "in the repair queue", "repair-queue", Long.toString(m.repairQueue()));
    row(b, "fewer than k readable right now", "packs-unrecoverable", Long.toString(m.packsUnrecoverableNow()));
    row(b, "repaired since start", "packs-repaired", Long.toString(m.packsRepaired()));
    b.append("</table>\n<p>Packs by fragments missing (0: whole), as the last repair round saw them:</p>\n");
    long[] byMissing = m.packsByMissing();
    // Without a round yet there is nothing to draw but an empty chart.
    int shown = Math.max(1, lastNonZero(byMissing) + 1);
    long[] values = new long[shown];
    String[] titles = new String[shown];
    String[] labels = new String[shown];
    for (int i = 0; i < shown; i++) {
      values[i] = i < byMissing.length ? byMissing[i] : 0;
      titles[i] = values[i] + " packs missing " + i;
      labels[i] = Integer.toString(i);
    }
    Html.barChart(b, "packs-by-missing", values, titles, labels, 0);
    b.append("<table id=\"packs-by-missing-table\">");
    for (int i = 0; i < shown; i++) {
      row(b, i + " missing", "missing-" + i, Long.toString(values[i]));
    }
    b.append("</table>\n");

    b.append("<h2>Holders</h2>\n<table>");
    Map<String, Long> byState = m.holdersByState();
    long[] counts = new long[byState.size()];
    String[] names = new String[byState.size()];
    int i = 0;
    for (Map.Entry<String, Long> e : byState.entrySet()) {
      row(b, e.getKey(), "holders-" + e.getKey(), Long.toString(e.getValue()));
      counts[i] = e.getValue();
      names[i++] = e.getKey();
    }
    b.append("</table>\n");
    if (counts.length > 0) {
      Html.barChart(b, "holders-chart", counts, names, names, 0);
    }

    Journal.Totals archived = m.archived();
    Journal.Totals drained = m.drained();
    double savedGiB = drained.bytes() / GIB;
    b.append("<h2>Archive</h2>\n<table>");
    row(b, "objects archived", "archived-objects", Long.toString(archived.objects()));
    row(b, "bytes archived", "archived-bytes", Long.toString(archived.bytes()));
    row(b, "objects drained from S3", "drained-objects", Long.toString(drained.objects()));
    row(b, "bytes drained from S3", "drained-bytes", Long.toString(drained.bytes()));
    row(b, "S3 storage saved each month", "s3-saved-per-month", String.format(Locale.ROOT, "%.2f", savedGiB
        * s3PricePerGiBMonth));
    b.append("</table>\n<p>").append(Html.bytes(drained.bytes())).append(" no longer in S3: at ")
        .append(String.format(Locale.ROOT, "%.4f", s3PricePerGiBMonth))
        .append(" per GiB-month (<code>--s3-price</code>), storage only; requests and transfer not counted.</p>\n");
    Html.meter(b, "drained-share", archived.bytes() == 0 ? 0 : (double) drained.bytes() / archived.bytes(), 14);
    b.append("</body></html>\n");
    return b.toString();
  }

  private static int lastNonZero(long[] values) {
    for (int i = values.length - 1; i >= 0; i--) {
      if (values[i] != 0) {
        return i;
      }
    }
    return 0;
  }

  private static void row(StringBuilder b, String label, String id, String value) {
    b.append("<tr><td>").append(Html.esc(label)).append("</td><td id=\"").append(Html.esc(id)).append("\">")
        .append(Html.esc(value)).append("</td></tr>");
  }
}
