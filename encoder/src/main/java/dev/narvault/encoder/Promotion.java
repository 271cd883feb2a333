package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code narvault promote}: drained NARs that became hot, back into S3. The candidates are the
 * archived NARs requested at least {@code minRequests} times within {@code requestedWithin}, by
 * the catalog's per-day counts (imported logs and the gateway's records). For each whose object
 * is drained:
 *
 * <ol>
 *   <li>the object is read back through the holders (every block checked against the signed
 *       manifest) into a file, and checked against its narinfo: FileHash and FileSize of the
 *       stored bytes, NarHash and NarSize decompressed;
 *   <li>the file is put into the bucket under the object's own key, and its size there checked;
 *   <li>the journal moves the object from {@link Journal.State#DRAINED} to
 *       {@link Journal.State#RESTORED} in that bucket: the gateway serves it from S3 again, and no
 *       drain takes it out again until {@code migrate --unused-for} finds it unused again.
 * </ol>
 *
 * These steps are {@link PutBack}'s, which {@code restore} shares. Each may be repeated: a run
 * killed between the upload and the journal finds the object in the bucket next time and only
 * journals it. Nothing is deleted anywhere. Objects still in S3 (never drained, or restored
 * already) are counted and left alone.
 */
public final class Promotion {
  private static final Logger LOG = LoggerFactory.getLogger(Promotion.class);
  private static final int PAGE = 500;

  /**
   * @param requestedWithin the window requests are counted in (whole UTC days, at most
   *     {@value AccessRecords#DAYS_KEPT} - 1 days)
   * @param minRequests at least this many requests within the window
   * @param dryRun only say what would be promoted
   * @param limit at most this many objects promoted (0: all)
   * @param workDir where each object is kept while it is checked and uploaded
   */
  public record Config(Duration requestedWithin, long minRequests, boolean dryRun, int limit, Path workDir) {
    public Config {
      if (requestedWithin.isNegative() || requestedWithin.isZero()
          || requestedWithin.toDays() >= AccessRecords.DAYS_KEPT) {
        throw new IllegalArgumentException("--requested-within must be between 1s and "
            + (AccessRecords.DAYS_KEPT - 1) + "d (per-day counts are kept " + AccessRecords.DAYS_KEPT
            + " days), got " + requestedWithin);
      }
      if (minRequests < 1) {
        throw new IllegalArgumentException("--min-requests must be >= 1, got " + minRequests);
      }
      if (limit < 0) {
        throw new IllegalArgumentException("--limit must be >= 0, got " + limit);
      }
    }
  }

  /** What a run did. */
  public record Result(long candidates, long promoted, long promotedBytes, long stillInS3, long failed,
      List<String> failures) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%d hot archived NARs: %d promoted back into S3 (%.1f MiB), %d in S3 "
          + "already, %d failed (tried again by the next run)", candidates, promoted, promotedBytes / 1048576.0,
          stillInS3, failed);
    }
  }

  private final Config config;
  private final Catalog catalog;
  private final Archive archive;
  private final ObjectSource to;
  private final String bucket;
  private final PrintStream out;
  private final Clock clock;

  /**
   * @param to the bucket the gateway proxies, where the objects go back
   * @param bucket its name, as the journal records it
   */
  public Promotion(Config config, Catalog catalog, Archive archive, ObjectSource to, String bucket, PrintStream out,
      Clock clock) {
    this.config = config;
    this.catalog = catalog;
    this.archive = archive;
    this.to = to;
    this.bucket = bucket;
    this.out = out;
    this.clock = clock;
  }

  public Result run() throws IOException {
    try (PutBack putBack = new PutBack(catalog, archive, to, bucket, Optional.empty(), config.workDir(), clock)) {
      return promoteHot(putBack);
    }
  }

  private Result promoteHot(PutBack putBack) throws IOException {
    int fromDay = AccessRecords.day(clock.millis() - config.requestedWithin().toMillis());
    long candidates = 0;
    long promoted = 0;
    long bytes = 0;
    long stillInS3 = 0;
    long failed = 0;
    List<String> failures = new ArrayList<>();
    String after = "";
    pages:
    while (true) {
      List<AccessRecords.Hot> page = catalog.access().hotArchived(fromDay, config.minRequests(), after, PAGE);
      if (page.isEmpty()) {
        break;
      }
      for (AccessRecords.Hot hot : page) {
        Optional<ArchivedNar> nar = catalog.narByStoreHash(hot.storeHash());
        Optional<Journal.State> state = catalog.journal().state(hot.storeHash());
        if (nar.isEmpty() || state.isEmpty()) {
          continue;
        }
        candidates++;
        if (state.get() != Journal.State.DRAINED) {
          stillInS3++;
          continue;
        }
        if (config.limit() > 0 && promoted >= config.limit()) {
          break pages;
        }
        if (config.dryRun()) {
          out.printf(Locale.ROOT, "would promote %s (%s, %d requests)%n", nar.get().fileKey(), hot.storeHash(),
              hot.requests());
          promoted++;
          bytes += nar.get().length();
          continue;
        }
        try {
          putBack.putBack(nar.get());
          promoted++;
          bytes += nar.get().length();
          out.printf(Locale.ROOT, "promoted %s (%s, %d requests, %.1f MiB)%n", nar.get().fileKey(), hot.storeHash(),
              hot.requests(), nar.get().length() / 1048576.0);
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException | IllegalArgumentException e) {
          failed++;
          if (failures.size() < 100) {
            failures.add(nar.get().fileKey() + ": " + e.getMessage());
          }
          LOG.warn("not promoting {}: {}", nar.get().fileKey(), e.getMessage());
          out.println("  failed " + nar.get().fileKey() + ": " + e.getMessage());
        }
      }
      after = page.getLast().storeHash();
    }
    return new Result(candidates, promoted, bytes, stillInS3, failed, List.copyOf(failures));
  }
}
