package dev.narvault.encoder;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * What one migration run did.
 *
 * @param alreadyArchived store paths found in the catalog (or sharing an archived object)
 * @param notSelected store paths not archived by choice: excluded, not listed, or not cold enough
 * @param busy store paths whose object another worker was archiving (this run left them to it)
 * @param kept store paths not selected, and archived objects not drained, because they are in use
 * @param rejections the first {@value #MAX_REJECTIONS_LISTED} rejections, with their reasons
 */
public record MigrationSummary(int narsArchived, long bytesArchived, int packs, int alreadyArchived,
    int rejected, int notSelected, int busy, Kept kept, Drain drain, Duration elapsed, List<Rejection> rejections) {
  public static final int MAX_REJECTIONS_LISTED = 10_000;
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /**
   * What use kept in S3 ({@code --hot-roots}, {@code --unused-for}): store paths not selected and
   * archived objects not drained, because they are in a hot root's closure, or were requested
   * within the window.
   */
  public record Kept(long inHotClosure, long requested) {
    public static final Kept NONE = new Kept(0, 0);
  }

  /** A narinfo not archived, and why. */
  public record Rejection(String key, String reason) {}

  /**
   * The drain: objects removed from S3 this run (or, in a dry run, none), objects whose drain
   * failed and will be retried, and archived objects still in S3 (what a drain would remove).
   */
  public record Drain(DrainConfig.Mode mode, long objects, long bytes, long failed, long pendingObjects,
      long pendingBytes) {}

  public MigrationSummary {
    rejections = List.copyOf(rejections);
  }

  @Override
  public String toString() {
    double seconds = Math.max(elapsed.toMillis(), 1) / 1000.0;
    String drained = drain.mode() == DrainConfig.Mode.DRY_RUN
        ? String.format(Locale.ROOT, "dry run: a drain would remove %d objects (%.1f MiB) from S3",
            drain.pendingObjects(), drain.pendingBytes() / 1048576.0)
        : String.format(Locale.ROOT, "drained %d objects (%.1f MiB) from S3%s; %d archived objects still in S3",
            drain.objects(), drain.bytes() / 1048576.0,
            drain.failed() > 0 ? " (" + drain.failed() + " to retry)" : "", drain.pendingObjects());
    return String.format(Locale.ROOT,
        "archived %d NARs (%.1f MiB) in %d packs in %.1f s (%.1f MiB/s); %d already archived; %d not selected; "
            + "%s%s%d rejected; %s",
        narsArchived, bytesArchived / 1048576.0, packs, seconds, bytesArchived / 1048576.0 / seconds,
        alreadyArchived, notSelected, busy > 0 ? busy + " left to other workers; " : "",
        kept.equals(Kept.NONE) ? "" : String.format(Locale.ROOT, "kept in S3 as in use: %d in hot closures, %d "
            + "requested lately; ", kept.inHotClosure(), kept.requested()), rejected, drained);
  }

  /** The machine-readable report ({@code narvault migrate --json FILE}). */
  public String toJson() {
    try {
      return JSON.writeValueAsString(new Report(narsArchived, bytesArchived, packs, alreadyArchived, notSelected,
          busy, kept, rejected, drain, elapsed.toMillis() / 1000.0, rejections, rejected > rejections.size()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private record Report(int archived, long archivedBytes, int packs, int alreadyArchived, int notSelected,
      int leftToOtherWorkers, Kept keptInUse, int rejected, Drain drain, double seconds, List<Rejection> rejections, boolean rejectionsTruncated) {}
}
