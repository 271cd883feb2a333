package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderMessages;
import dev.narvault.holder.store.FragmentStore;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counters a holder exports at {@code /metrics} in Prometheus text format. */
public final class HolderMetrics {
  final LongAdder bytesServed = new LongAdder();
  final LongAdder bytesReceived = new LongAdder();
  final LongAdder auditsAnswered = new LongAdder();
  final LongAdder quotaRefusals = new LongAdder();
  public final LongAdder scrubbedBytes = new LongAdder();
  public final LongAdder scrubPasses = new LongAdder();
  public final LongAdder corruptFound = new LongAdder();
  private final Map<Integer, LongAdder> requestsByStatus = new ConcurrentHashMap<>();

  void request(int status) {
    requestsByStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
  }

  /** The counters, and the gauges of {@code store} and of this month's {@code upload} quota use. */
  String render(FragmentStore store, HolderMessages.QuotaUse upload) {
    StringBuilder s = new StringBuilder();
    gauge(s, "narvault_holder_capacity_bytes", "Most fragment bytes this holder stores.", store.capacityBytes());
    gauge(s, "narvault_holder_used_bytes", "Fragment bytes stored.", store.usedBytes());
    gauge(s, "narvault_holder_fragments", "Fragments stored.", store.fragmentCount());
    gauge(s, "narvault_holder_trash_bytes", "Bytes of deleted fragments kept in the trash (not counted as used).",
        store.trashBytes());
    counter(s, "narvault_holder_served_bytes_total", "Fragment bytes sent to clients.", bytesServed.sum());
    gauge(s, "narvault_holder_upload_quota_bytes", "Most fragment bytes served in a calendar month, UTC (0: no quota).",
        upload.quotaBytes());
    gauge(s, "narvault_holder_month_served_bytes", "Fragment bytes served this calendar month (UTC), counted against "
        + "the upload quota; audits not counted.", upload.servedBytes());
    counter(s, "narvault_holder_quota_refused_total", "Fragment reads refused (503) for the monthly upload quota.",
        quotaRefusals.sum());
    counter(s, "narvault_holder_received_bytes_total", "Fragment bytes accepted from uploads.", bytesReceived.sum());
    counter(s, "narvault_holder_audits_total", "Audit challenges answered.", auditsAnswered.sum());
    counter(s, "narvault_holder_scrubbed_bytes_total", "Bytes re-hashed by the scrubber.", scrubbedBytes.sum());
    counter(s, "narvault_holder_scrub_passes_total", "Completed scrub passes.", scrubPasses.sum());
    counter(s, "narvault_holder_corrupt_fragments_total", "Fragments the scrubber quarantined.", corruptFound.sum());
    s.append("# HELP narvault_holder_requests_total HTTP requests by status.\n");
    s.append("# TYPE narvault_holder_requests_total counter\n");
    new TreeMap<>(requestsByStatus).forEach((status, n) ->
        s.append("narvault_holder_requests_total{status=\"").append(status).append("\"} ").append(n.sum()).append('\n'));
    return s.toString();
  }

  private static void gauge(StringBuilder s, String name, String help, long value) {
    s.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" gauge\n")
        .append(name).append(' ').append(value).append('\n');
  }

  private static void counter(StringBuilder s, String name, String help, long value) {
    s.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(value).append('\n');
  }
}
