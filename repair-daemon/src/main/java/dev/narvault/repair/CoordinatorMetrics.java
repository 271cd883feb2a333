package dev.narvault.repair;

import dev.narvault.core.catalog.Journal;

import dev.narvault.repair.policy.HolderState;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** The coordinator's counters and gauges, rendered in Prometheus text format at {@code GET /metrics}. */
public final class CoordinatorMetrics {
  final AtomicLong packsTotal = new AtomicLong();
  final AtomicLong packsDegraded = new AtomicLong();
  final AtomicLong fragmentsExcused = new AtomicLong();
  final AtomicLong repairQueue = new AtomicLong();
  final AtomicLong packsUnrecoverableNow = new AtomicLong();
  final LongAdder packsRepaired = new LongAdder();
  final LongAdder fragmentsRebuilt = new LongAdder();
  final LongAdder repairFailures = new LongAdder();
  final LongAdder repairBytesRead = new LongAdder();
  final LongAdder repairBytesWritten = new LongAdder();
  final LongAdder repairMillis = new LongAdder();
  final LongAdder garbageDeleted = new LongAdder();
  final LongAdder copiesForgotten = new LongAdder();
  final LongAdder auditsPassed = new LongAdder();
  final LongAdder auditsFailed = new LongAdder();
  final LongAdder auditsTrouble = new LongAdder();
  final LongAdder proofsFailed = new LongAdder();
  final LongAdder copiesRevived = new LongAdder();
  final LongAdder copiesRestored = new LongAdder();
  final LongAdder garbageKept = new LongAdder();
  final LongAdder placementsGranted = new LongAdder();
  final LongAdder placementsRefused = new LongAdder();
  private volatile Map<String, Long> holdersByState = Map.of();
  /** Packs by fragments missing (index 0: none), as the last repair round saw them. */
  private volatile long[] packsByMissing = new long[0];
  /** What the journal holds: archived (committed, verified or drained) and drained objects and bytes. */
  private volatile Journal.Totals archived = new Journal.Totals(0, 0);
  private volatile Journal.Totals drained = new Journal.Totals(0, 0);

  void packsByMissing(long[] counts) {
    packsByMissing = counts.clone();
  }

  /** Packs by fragments missing (index 0: whole), as the last repair round saw them. */
  public long[] packsByMissing() {
    return packsByMissing.clone();
  }

  void archive(Journal.Totals archivedNow, Journal.Totals drainedNow) {
    archived = archivedNow;
    drained = drainedNow;
  }

  public Journal.Totals archived() {
    return archived;
  }

  public Journal.Totals drained() {
    return drained;
  }

  public Map<String, Long> holdersByState() {
    return holdersByState;
  }

  public long packsTotal() {
    return packsTotal.get();
  }

  public long repairQueue() {
    return repairQueue.get();
  }

  public long packsUnrecoverableNow() {
    return packsUnrecoverableNow.get();
  }

  void holdersByState(Map<HolderState, Long> counts) {
    Map<String, Long> byLabel = new TreeMap<>();
    counts.forEach((state, n) -> byLabel.put(state.label(), n));
    holdersByState = Map.copyOf(byLabel);
  }

  public long packsRepaired() {
    return packsRepaired.sum();
  }

  public long fragmentsRebuilt() {
    return fragmentsRebuilt.sum();
  }

  public long bytesWritten() {
    return repairBytesWritten.sum();
  }

  public long packsDegraded() {
    return packsDegraded.get();
  }

  public long garbageDeleted() {
    return garbageDeleted.sum();
  }

  public String render() {
    StringBuilder b = new StringBuilder();
    gauge(b, "narvault_packs_total", "Packs in the catalog.", packsTotal.get());
    gauge(b, "narvault_packs_degraded", "Packs with fewer than k + m healthy fragments.", packsDegraded.get());
    gauge(b, "narvault_fragments_excused", "Fragments counted only by a copy on a holder away by its own word "
        + "(not read meanwhile), in the packs the last round checked.", fragmentsExcused.get());
    gauge(b, "narvault_repair_queue_packs", "Packs below the repair threshold, waiting for repair.", repairQueue.get());
    gauge(b, "narvault_packs_unrecoverable_now", "Packs with fewer than k readable fragments right now.",
        packsUnrecoverableNow.get());
    counter(b, "narvault_packs_repaired_total", "Packs repaired.", packsRepaired.sum());
    counter(b, "narvault_copies_forgotten_total", "Copies on holders gone for good (--forget-after) that no longer "
        + "counted, forgotten once their packs were whole without them.", copiesForgotten.sum());
    counter(b, "narvault_fragments_rebuilt_total", "Fragments rebuilt and placed by repair.", fragmentsRebuilt.sum());
    counter(b, "narvault_repair_failures_total", "Pack repairs that failed (retried next round).", repairFailures.sum());
    counter(b, "narvault_repair_read_bytes_total", "Bytes repair read from holders.", repairBytesRead.sum());
    counter(b, "narvault_repair_written_bytes_total", "Bytes repair placed on holders.", repairBytesWritten.sum());
    b.append("# HELP narvault_repair_duration_seconds Time spent repairing packs.\n")
        .append("# TYPE narvault_repair_duration_seconds summary\n")
        .append("narvault_repair_duration_seconds_sum ").append(String.format(Locale.ROOT, "%.3f", repairMillis.sum() / 1000.0))
        .append('\n').append("narvault_repair_duration_seconds_count ").append(packsRepaired.sum() + repairFailures.sum())
        .append('\n');
    counter(b, "narvault_garbage_deleted_total", "Surplus, corrupt or orphaned fragment copies deleted from holders.",
        garbageDeleted.sum());
    counter(b, "narvault_audits_passed_total", "Audits passed.", auditsPassed.sum());
    counter(b, "narvault_audits_failed_total", "Audits failed.", auditsFailed.sum());
    counter(b, "narvault_audits_unanswered_total", "Audits not answered (timeout, refusal, 5xx): suspension, not failure.",
        auditsTrouble.sum());
    counter(b, "narvault_endpoint_proofs_failed_total", "Endpoint proofs that did not reach the holder.",
        proofsFailed.sum());
    counter(b, "narvault_copies_revived_total", "Superseded or unverified copies that count again after an audit.",
        copiesRevived.sum());
    counter(b, "narvault_copies_restored_total", "Deleted copies brought back from a holder's trash for a pack short of k.",
        copiesRestored.sum());
    counter(b, "narvault_garbage_kept_total", "Surplus copies not deleted because their pack was not whole without them.",
        garbageKept.sum());
    counter(b, "narvault_placements_granted_total", "Placement requests granted.", placementsGranted.sum());
    counter(b, "narvault_placements_refused_total", "Placement requests refused.", placementsRefused.sum());
    long[] missing = packsByMissing;
    b.append("# HELP narvault_packs_by_missing_fragments Packs by fragments missing, as the last repair round saw "
        + "them.\n# TYPE narvault_packs_by_missing_fragments gauge\n");
    for (int i = 0; i < missing.length; i++) {
      b.append("narvault_packs_by_missing_fragments{missing=\"").append(i).append("\"} ").append(missing[i]).append('\n');
    }
    Journal.Totals a = archived;
    Journal.Totals d = drained;
    b.append("# HELP narvault_archive_objects S3 objects archived (committed, verified or drained) and drained.\n")
        .append("# TYPE narvault_archive_objects gauge\n")
        .append("narvault_archive_objects{state=\"archived\"} ").append(a.objects()).append('\n')
        .append("narvault_archive_objects{state=\"drained\"} ").append(d.objects()).append('\n');
    b.append("# HELP narvault_archive_bytes Bytes of S3 objects archived and drained.\n")
        .append("# TYPE narvault_archive_bytes gauge\n")
        .append("narvault_archive_bytes{state=\"archived\"} ").append(a.bytes()).append('\n')
        .append("narvault_archive_bytes{state=\"drained\"} ").append(d.bytes()).append('\n');
    b.append("# HELP narvault_holders Holders by state.\n# TYPE narvault_holders gauge\n");
    for (Map.Entry<String, Long> e : holdersByState.entrySet()) {
      b.append("narvault_holders{state=\"").append(e.getKey()).append("\"} ").append(e.getValue()).append('\n');
    }
    return b.toString();
  }

  private static void gauge(StringBuilder b, String name, String help, long value) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(value).append('\n');
  }

  private static void counter(StringBuilder b, String name, String help, long value) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n')
        .append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(value).append('\n');
  }
}
