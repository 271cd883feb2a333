package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.http.Html;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * The volunteer's dashboard as one server-rendered HTML page with inline SVG charts: no script,
 * no framework, no asset from anywhere else. Every number a test checks has an element id.
 */
final class DashboardPage {
  /** What the page shows, read at the time of the request. */
  record View(String holderId, String advertised, long capacityBytes, long usedBytes, int fragments, long trashBytes,
      long servedBytes, long uploadCapBytesPerSecond, HolderMessages.QuotaUse uploadQuota, long quotaRefusals,
      long[] servedByHour, long[] servedByDay,
      HolderMessages.Standing standing, long scrubPasses, long scrubbedBytes, long corruptFound,
      long lastContactMillis, String lastContactError, List<RecentProblems.Problem> problems, long nowMillis) {}

  private DashboardPage() {}

  static String render(View v) {
    StringBuilder b = new StringBuilder(8192);
    b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"refresh\" content=\"30\">")
        .append("<title>narvault holder ").append(esc(shortId(v.holderId()))).append("</title><style>")
        .append(Html.STYLE).append("</style></head><body>\n");
    b.append("<h1>narvault holder <span id=\"holder-id\">").append(esc(v.holderId())).append("</span></h1>\n");
    b.append("<p>Advertised at <code id=\"advertised\">").append(esc(v.advertised())).append("</code>; ")
        .append(Instant.ofEpochMilli(v.nowMillis())).append("</p>\n");

    b.append("<h2>Storage</h2>\n");
    double share = v.capacityBytes() == 0 ? 0 : (double) v.usedBytes() / v.capacityBytes();
    b.append("<p><span id=\"used-bytes\">").append(v.usedBytes()).append("</span> bytes (").append(human(v.usedBytes()))
        .append(") used of <span id=\"capacity-bytes\">").append(v.capacityBytes()).append("</span> (")
        .append(human(v.capacityBytes())).append("), in <span id=\"fragments\">").append(v.fragments())
        .append("</span> fragments; ").append(human(v.trashBytes())).append(" in the trash.</p>\n");
    Html.meter(b, "storage-chart", share, 18);

    b.append("<h2>Bandwidth served</h2>\n<p><span id=\"served-bytes\">").append(v.servedBytes())
        .append("</span> bytes (").append(human(v.servedBytes())).append(") since start; upload cap ")
        .append(v.uploadCapBytesPerSecond() == 0 ? "none" : human(v.uploadCapBytesPerSecond()) + "/s").append(".</p>\n");
    monthlyQuota(b, v.uploadQuota(), v.quotaRefusals());
    b.append("<p>Last 24 hours, per hour:</p>\n");
    chart(b, "bandwidth-hours", v.servedByHour(), v.uploadCapBytesPerSecond() * 3600);
    b.append("<p>Last 7 days, per day:</p>\n");
    chart(b, "bandwidth-days", v.servedByDay(), v.uploadCapBytesPerSecond() * 86400);

    HolderMessages.Standing s = v.standing();
    b.append("<h2>Standing</h2>\n<table>");
    row(b, "state", "state", s.state());
    row(b, "vetting", "vetting", s.vetted() ? "vetted" : s.auditsPassed() + " of " + s.auditsToVet()
        + " audits passed, period ends " + (s.vettedFromMillis() == 0 ? "?" : Instant.ofEpochMilli(s.vettedFromMillis())));
    row(b, "audit score", "audit-score", String.format(Locale.ROOT, "%.4f", s.auditScore()));
    row(b, "suspension score", "suspension-score", String.format(Locale.ROOT, "%.4f", s.suspensionScore()));
    row(b, "fragments that count", "counted-fragments", Long.toString(s.countedFragments()));
    row(b, "endpoint proven at", "proven-address", s.provenAddress().isEmpty() ? "(not yet)" : s.provenAddress());
    row(b, "away", "away", s.awayUntilMillis() > s.atMillis()
        ? "until " + Instant.ofEpochMilli(s.awayUntilMillis()) + " (declared)" : "no absence declared");
    row(b, "away time left", "away-allowance", ago(s.awayAllowanceMillis()));
    b.append("</table>\n");
    if (!s.vetted() && s.auditsToVet() > 0) {
      double done = Math.min(1, (double) s.auditsPassed() / s.auditsToVet());
      Html.meter(b, "vetting-chart", done, 12);
    }
    b.append("<ul id=\"warnings\">");
    if (s.warnings().isEmpty()) {
      b.append("<li class=\"ok\">no warnings</li>");
    }
    for (String w : s.warnings()) {
      b.append("<li class=\"warn\">").append(esc(w)).append("</li>");
    }
    b.append("</ul>\n");

    b.append("<h2>Scrub</h2>\n<p><span id=\"scrub-passes\">").append(v.scrubPasses())
        .append("</span> passes done; <span id=\"scrubbed-bytes\">").append(v.scrubbedBytes()).append("</span> bytes (")
        .append(human(v.scrubbedBytes())).append(") re-hashed; <span id=\"corrupt-found\">").append(v.corruptFound())
        .append("</span> fragments found corrupt and reported.</p>\n");

    b.append("<h2>Coordinator</h2>\n<p id=\"coordinator\">");
    if (v.lastContactMillis() == 0) {
      b.append("<span class=\"warn\">not reached yet</span>");
    } else {
      b.append("last answered ").append(ago(v.nowMillis() - v.lastContactMillis())).append(" ago");
    }
    if (v.lastContactError() != null) {
      b.append("; last failure: <span class=\"warn\">").append(esc(v.lastContactError())).append("</span>");
    }
    b.append("</p>\n<h2>Recent problems</h2>\n<ul id=\"problems\">");
    if (v.problems().isEmpty()) {
      b.append("<li class=\"ok\">none</li>");
    }
    for (RecentProblems.Problem p : v.problems()) {
      b.append("<li>").append(Instant.ofEpochMilli(p.atMillis())).append(": ").append(esc(p.what())).append("</li>");
    }
    b.append("</ul>\n</body></html>\n");
    return b.toString();
  }

  /** This month's fragment bytes served against the monthly upload quota, and a meter when there is one. */
  private static void monthlyQuota(StringBuilder b, HolderMessages.QuotaUse q, long refusals) {
    b.append("<p id=\"upload-quota\">This month (").append(esc(q.month()))
        .append(", UTC): <span id=\"month-served-bytes\">").append(q.servedBytes()).append("</span> bytes (")
        .append(human(q.servedBytes())).append(") served");
    if (q.quotaBytes() == 0) {
      b.append("; no monthly upload quota (<span id=\"upload-quota-bytes\">0</span>).</p>\n");
      return;
    }
    String resumes = java.time.YearMonth.parse(q.month()).plusMonths(1).atDay(1).toString();
    b.append(" of the monthly upload quota of <span id=\"upload-quota-bytes\">").append(q.quotaBytes())
        .append("</span> bytes (").append(human(q.quotaBytes())).append("); ")
        .append(human(Math.max(0, q.quotaBytes() - q.servedBytes()))).append(" left. Reads that do not fit in what is "
            + "left are refused (503) until ").append(resumes).append(" 00:00 UTC; audits are always answered. "
            + "<span id=\"quota-refusals\">").append(refusals).append("</span> reads refused since start.</p>\n");
    Html.meter(b, "upload-quota-chart", (double) q.servedBytes() / q.quotaBytes(), 12);
  }

  /** Bars for {@code values}, oldest left, with the cap per bucket as a dashed line when there is one. */
  private static void chart(StringBuilder b, String id, long[] values, long capPerBucket) {
    String[] titles = new String[values.length];
    for (int i = 0; i < values.length; i++) {
      titles[i] = human(values[i]);
    }
    Html.barChart(b, id, values, titles, null, capPerBucket);
  }

  private static void row(StringBuilder b, String label, String id, String value) {
    b.append("<tr><td>").append(label).append("</td><td id=\"").append(id).append("\">").append(esc(value))
        .append("</td></tr>");
  }

  static String human(long bytes) {
    return Html.bytes(bytes);
  }

  private static String ago(long millis) {
    Duration d = Duration.ofMillis(Math.max(0, millis));
    return d.toSeconds() < 120 ? d.toSeconds() + " s" : d.toMinutes() < 120 ? d.toMinutes() + " min" : d.toHours() + " h";
  }

  private static String shortId(String id) {
    return id.length() > 12 ? id.substring(0, 12) : id;
  }

  static String esc(String s) {
    return Html.esc(s);
  }
}
