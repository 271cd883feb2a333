package dev.narvault.gateway.server;

import dev.narvault.core.access.AccessRecorder;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Counters the gateway exports at {@code /metrics} in Prometheus text format. */
final class GatewayMetrics {
  final LongAdder narInfoFromArchive = new LongAdder();
  final LongAdder narsFromArchive = new LongAdder();
  final LongAdder bytesFromArchive = new LongAdder();
  final LongAdder degradedReads = new LongAdder();
  final LongAdder archiveFailures = new LongAdder();
  final LongAdder fromS3 = new LongAdder();
  final LongAdder missesLimited = new LongAdder();
  final LongAdder overheadLimited = new LongAdder();
  final LongAdder holderBytes = new LongAdder();
  final LongAdder cacheHits = new LongAdder();
  final LongAdder rebuildsShared = new LongAdder();
  private final Map<Integer, LongAdder> byStatus = new ConcurrentHashMap<>();
  private final Optional<AccessRecorder> access;

  GatewayMetrics() {
    this(Optional.empty());
  }

  /** @param access the access records whose counts are shown too, if the gateway keeps them */
  GatewayMetrics(Optional<AccessRecorder> access) {
    this.access = access;
  }

  void request(int status) {
    byStatus.computeIfAbsent(status, s -> new LongAdder()).increment();
  }

  String render() {
    StringBuilder s = new StringBuilder();
    counter(s, "narvault_gateway_narinfo_archive_total", "narinfos served from the catalog.", narInfoFromArchive.sum());
    counter(s, "narvault_gateway_nar_archive_total", "NARs served from holders, verified.", narsFromArchive.sum());
    counter(s, "narvault_gateway_nar_archive_bytes_total", "NAR bytes served from holders.", bytesFromArchive.sum());
    counter(s, "narvault_gateway_nar_degraded_total", "NAR reads that decoded around a failed or lying holder.",
        degradedReads.sum());
    counter(s, "narvault_gateway_nar_archive_failures_total", "Archived NARs the holders could not serve.",
        archiveFailures.sum());
    counter(s, "narvault_gateway_s3_total", "Objects proxied from S3.", fromS3.sum());
    counter(s, "narvault_gateway_nar_holder_bytes_total", "Bytes received from holders (decoding included).",
        holderBytes.sum());
    counter(s, "narvault_gateway_nar_cache_hits_total", "NAR requests served from rebuilt NARs kept on disk.",
        cacheHits.sum());
    counter(s, "narvault_gateway_nar_rebuilds_shared_total", "NAR requests that followed a rebuild another request started.",
        rebuildsShared.sum());
    counter(s, "narvault_gateway_misses_limited_total", "Misses refused with 429 (enumeration).",
        missesLimited.sum());
    counter(s, "narvault_gateway_overhead_limited_total", "NAR requests refused with 429 (holder read overhead).",
        overheadLimited.sum());
    access.ifPresent(a -> {
      counter(s, "narvault_gateway_access_recorded_total", "Requests for archived NARs written to the access records.",
          a.written());
      counter(s, "narvault_gateway_access_dropped_total",
          "Requests for archived NARs not recorded (too many waiting while the catalog was slow or down).", a.dropped());
    });
    s.append("# HELP narvault_gateway_responses_total Complete responses by status (streamed NARs excluded).\n");
    s.append("# TYPE narvault_gateway_responses_total counter\n");
    new TreeMap<>(byStatus).forEach((status, n) ->
        s.append("narvault_gateway_responses_total{status=\"").append(status).append("\"} ").append(n.sum()).append('\n'));
    return s.toString();
  }

  private static void counter(StringBuilder s, String name, String help, long value) {
    s.append("# HELP ").append(name).append(' ').append(help).append("\n# TYPE ").append(name).append(" counter\n")
        .append(name).append(' ').append(value).append('\n');
  }
}
