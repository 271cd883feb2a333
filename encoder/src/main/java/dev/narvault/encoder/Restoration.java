package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.encoder.sorted.StoreHashSet;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code narvault restore}: archived NARs put back into a bucket as the exact objects they were,
 * under the keys they had ({@code nar/<FileHash>.nar.xz} …), byte for byte. The NARs are the
 * store paths of a list ({@code --paths}) or every object the journal holds ({@code --all}); each
 * goes through {@link PutBack}, the steps {@code promote} takes: read through the holders, every
 * block verified, checked against the narinfo's FileHash and NarHash, put, its size checked, and
 * journalled as restored in that bucket.
 *
 * <p>A list is read whole before anything is put: a store path the catalog does not have stops
 * the run with all of them named. A NAR that cannot be read (fewer than k fragments answer) or
 * does not verify is reported and the run goes on; the next run skips what the journal has as
 * restored in that bucket and retries the rest. Objects the bucket already has (its key, its
 * size: the original bucket, for a NAR never drained) are journalled and not uploaded again.
 */
public final class Restoration {
  private static final Logger LOG = LoggerFactory.getLogger(Restoration.class);
  private static final int PAGE = 500;
  /** Failures named in the result; the count covers all of them. */
  static final int FAILURES_NAMED = 100;
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * @param paths the store paths to restore, one per line (a store path, its base name or its
   *     hash; gzip or xz allowed); empty: every archived object
   * @param bucket the name of the bucket they go into, as the journal records it
   * @param storageClass the storage class of uploaded objects (empty: the bucket's default)
   * @param workDir where each object is kept while it is checked and uploaded
   */
  public record Config(Optional<Path> paths, String bucket, Optional<String> storageClass, Path workDir) {
    public Config {
      if (bucket == null || bucket.isBlank()) {
        throw new IllegalArgumentException("--to-bucket is required, got '" + bucket + "'");
      }
      if (storageClass.isPresent() && !storageClass.get().matches("[A-Za-z0-9_]+")) {
        throw new IllegalArgumentException("--storage-class must be a name such as STANDARD_IA, got '"
            + storageClass.get() + "'");
      }
    }
  }

  /**
   * What a run did.
   *
   * @param selected NARs looked at (store paths with {@code --paths}, objects with {@code --all})
   * @param uploaded objects read through the holders, verified and put
   * @param uploadedBytes their bytes
   * @param found objects the bucket had already (key and size): journalled, not uploaded
   * @param doneBefore objects the journal had as restored in this bucket already
   * @param failed objects not restored (tried again by the next run)
   * @param failures the first {@value #FAILURES_NAMED} of them: key, store hash and why
   */
  public record Result(long selected, long uploaded, long uploadedBytes, long found, long doneBefore, long failed,
      List<String> failures) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%d NARs: %d put back (%.1f MiB), %d found in the bucket already, %d "
          + "restored before, %d failed%s", selected, uploaded, uploadedBytes / 1048576.0, found, doneBefore, failed,
          failed > 0 ? " (tried again by the next run)" : "");
    }
  }

  private final Config config;
  private final Catalog catalog;
  private final Archive archive;
  private final ObjectSource to;
  private final PrintStream out;
  private final PrintStream progress;
  private final InstantSource clock;
  private final Instant start;
  private Instant shown;
  private long total = -1;
  private long selected;
  private long uploaded;
  private long uploadedBytes;
  private long found;
  private long doneBefore;
  private long failed;
  private final List<String> failures = new ArrayList<>();

  /**
   * @param to the bucket the objects go into ({@link Config#bucket()})
   * @param out where failures are named as they happen
   * @param progress where a progress line goes every {@link #PROGRESS_EVERY} (standard error)
   */
  public Restoration(Config config, Catalog catalog, Archive archive, ObjectSource to, PrintStream out,
      PrintStream progress, InstantSource clock) {
    this.config = config;
    this.catalog = catalog;
    this.archive = archive;
    this.to = to;
    this.out = out;
    this.progress = progress;
    this.clock = clock;
    this.start = clock.instant();
    this.shown = start;
  }

  /**
   * Restores every selected NAR it can.
   *
   * @throws IllegalArgumentException when the list is missing or malformed, or names store paths
   *     the catalog does not have (nothing is restored then)
   */
  public Result run() throws IOException {
    Path work = Files.createDirectories(config.workDir());
    try (PutBack putBack = new PutBack(catalog, archive, to, config.bucket(), config.storageClass(),
        work.resolve("objects"), clock)) {
      if (config.paths().isPresent()) {
        restoreListed(putBack, config.paths().get(), work);
      } else {
        restoreAll(putBack);
      }
    }
    return new Result(selected, uploaded, uploadedBytes, found, doneBefore, failed, List.copyOf(failures));
  }

  private void restoreListed(PutBack putBack, Path list, Path work) throws IOException {
    try (StoreHashSet hashes = StoreHashSet.read(list, Files.createDirectories(work.resolve("paths")),
        MigrationInput.memoryBudget())) {
      checkKnown(hashes, list);
      total = hashes.size();
      try (StoreHashSet.Hashes each = hashes.hashes()) {
        String hash;
        while ((hash = each.next()) != null) {
          restore(putBack, catalog.narByStoreHash(hash).orElseThrow(), hash);
        }
      }
    }
  }

  /** Refuses a list naming store paths the catalog does not have, naming the first of them. */
  private void checkKnown(StoreHashSet hashes, Path list) throws IOException {
    long unknown = 0;
    List<String> named = new ArrayList<>();
    try (StoreHashSet.Hashes each = hashes.hashes()) {
      String hash;
      while ((hash = each.next()) != null) {
        if (catalog.narByStoreHash(hash).isEmpty()) {
          unknown++;
          if (named.size() < 10) {
            named.add(hash);
          }
        }
      }
    }
    if (unknown > 0) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "--paths %s: %d of its %d store paths %s not "
          + "in the archive (the catalog has no NAR for %s%s); nothing was restored", list, unknown, hashes.size(),
          unknown == 1 ? "is" : "are", String.join(", ", named), unknown > named.size() ? ", …" : ""));
    }
  }

  private void restoreAll(PutBack putBack) throws IOException {
    total = 0;
    for (Journal.State state : Journal.State.values()) {
      total += catalog.journal().totals(state).objects();
    }
    String after = "";
    while (true) {
      List<Journal.Entry> page = catalog.journal().all(after, PAGE);
      if (page.isEmpty()) {
        return;
      }
      String last = null;
      for (Journal.Entry e : page) {
        if (e.fileKey().equals(last)) {
          continue; // another store path naming the same object
        }
        last = e.fileKey();
        Optional<ArchivedNar> nar = catalog.narByStoreHash(e.storeHash());
        if (nar.isEmpty()) {
          fail(e.fileKey(), e.storeHash(), "the journal names it but the catalog has no NAR for it");
          continue;
        }
        restore(putBack, nar.get(), e.storeHash());
      }
      after = page.getLast().fileKey();
    }
  }

  private void restore(PutBack putBack, ArchivedNar nar, String storeHash) throws IOException {
    selected++;
    try {
      switch (putBack.putBack(nar)) {
        case DONE_BEFORE -> doneBefore++;
        case FOUND -> found++;
        case UPLOADED -> {
          uploaded++;
          uploadedBytes += nar.length();
        }
      }
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException | IllegalArgumentException e) {
      fail(nar.fileKey(), storeHash, e.getMessage());
    }
    showProgress();
  }

  private void fail(String fileKey, String storeHash, String why) {
    failed++;
    String line = fileKey + " (" + storeHash + "): " + why;
    if (failures.size() < FAILURES_NAMED) {
      failures.add(line);
    }
    LOG.warn("not restoring {}", line);
    out.println("failed " + line);
  }

  private void showProgress() {
    Instant now = clock.instant();
    if (Duration.between(shown, now).compareTo(PROGRESS_EVERY) < 0) {
      return;
    }
    shown = now;
    double seconds = Math.max(1, Duration.between(start, now).toMillis()) / 1000.0;
    progress.printf(Locale.ROOT, "restore: %d of %s NARs, %d put back (%.1f MiB at %.1f MiB/s), %d found, %d "
            + "restored before, %d failed, %s%n", selected, total < 0 ? "?" : Long.toString(total), uploaded,
        uploadedBytes / 1048576.0, uploadedBytes / 1048576.0 / seconds, found, doneBefore, failed,
        ProgressLine.human(Math.round(seconds)));
  }
}
