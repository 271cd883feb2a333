package dev.narvault.encoder;

import java.time.Duration;
import java.util.Locale;

/** What one migration run did. */
public record MigrationSummary(int narsArchived, long bytesArchived, int packs, int alreadyArchived,
    int rejected, Duration elapsed) {
  @Override
  public String toString() {
    double seconds = Math.max(elapsed.toMillis(), 1) / 1000.0;
    return String.format(Locale.ROOT,
        "archived %d NARs (%.1f MiB) in %d packs in %.1f s (%.1f MiB/s); %d already archived; %d rejected",
        narsArchived, bytesArchived / 1048576.0, packs, seconds, bytesArchived / 1048576.0 / seconds,
        alreadyArchived, rejected);
  }
}
