package dev.narvault.encoder;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.encoder.input.HotClosure;
import dev.narvault.encoder.input.KeyFiles;
import dev.narvault.encoder.input.NarAges;
import dev.narvault.encoder.input.NarInfoKeys;
import dev.narvault.encoder.input.NarInfoListing;
import dev.narvault.encoder.input.Shard;
import dev.narvault.encoder.sorted.StoreHashSet;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What one run reads, opened and checked before it archives anything: its narinfo keys (a
 * listing of its shard of the bucket, continued from a checkpoint, or files), the selection's
 * lists as sorted sets on disk, and, from S3 Inventories, the NAR objects' ages.
 *
 * <p><b>The checkpoint's scope</b> names everything that decides which keys a listing resolves:
 * the store ({@link ObjectSource#location()}), the shard, and the selection: a digest of the
 * {@code --paths} and {@code --exclude} sets, the {@code --older-than} duration and the trusted
 * keys (which decide what is rejected), and with selection by use the hot closures' set and the
 * {@code --unused-for} window. A run with another selection must not continue from a
 * checkpoint another selection left, or it would skip keys the first run passed over (not
 * selected, or signed by a key it did not trust); with its own scope it starts its own pass.
 */
final class MigrationInput implements AutoCloseable {
  private final NarInfoKeys keys;
  private final Optional<StoreHashSet> only;
  private final Optional<StoreHashSet> exclude;
  private final Optional<StoreHashSet> hot;
  private final InUse inUse;
  private final Optional<NarAges> ages;
  private final ListingCheckpoint checkpoint;
  private final Optional<ProgressLine.Span> span;
  private final List<String> description;

  private MigrationInput(NarInfoKeys keys, Optional<StoreHashSet> only, Optional<StoreHashSet> exclude,
      Optional<StoreHashSet> hot, InUse inUse, Optional<NarAges> ages, ListingCheckpoint checkpoint,
      Optional<ProgressLine.Span> span, List<String> description) {
    this.keys = keys;
    this.only = only;
    this.exclude = exclude;
    this.hot = hot;
    this.inUse = inUse;
    this.ages = ages;
    this.checkpoint = checkpoint;
    this.span = span;
    this.description = List.copyOf(description);
  }

  /**
   * Checks and opens a run's input; sorted files go to {@code dir}.
   *
   * @throws IllegalArgumentException for a missing or malformed file, naming it
   */
  static MigrationInput open(MigrateConfig config, ObjectSource objects, Catalog catalog, Path dir, Clock clock,
      PrintStream progress) throws IOException {
    ColdSelection selection = config.selection();
    Shard shard = selection.shard();
    long memory = memoryBudget();
    List<String> description = new ArrayList<>();
    // Files first: a mistake there shows before minutes of sorting.
    Optional<KeyFiles> files = config.keysFrom().isEmpty() ? Optional.empty()
        : Optional.of(KeyFiles.open(config.keysFrom(), bucketOf(objects.location())));
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Optional<StoreHashSet> only = Optional.empty();
      if (selection.only().isPresent()) {
        only = Optional.of(StoreHashSet.read(selection.only().get(), dir, memory));
        opened.add(only.get());
        description.add(String.format(Locale.ROOT, "only the %,d store paths of %s", only.get().size(),
            selection.only().get()));
      }
      Optional<StoreHashSet> exclude = Optional.empty();
      if (selection.exclude().isPresent()) {
        exclude = Optional.of(StoreHashSet.read(selection.exclude().get(), dir, memory));
        opened.add(exclude.get());
        description.add(String.format(Locale.ROOT, "never the %,d store paths of %s", exclude.get().size(),
            selection.exclude().get()));
      }
      Optional<StoreHashSet> hot = Optional.empty();
      if (!selection.hotRoots().isEmpty()) {
        progress.println("reading the closures of the hot roots in " + selection.hotRoots().size() + " file(s)");
        HotClosure.Result closure = HotClosure.compute(selection.hotRoots(), objects, dir, memory, progress);
        hot = Optional.of(closure.paths());
        opened.add(hot.get());
        description.add("never the " + closure);
      }
      if (selection.unusedFor().isPresent()) {
        description.add(unusedDescription(catalog, selection.unusedFor().get(), clock));
      }
      InUse inUse = selection.byUse()
          ? new InUse(hot, selection.unusedFor(), catalog.access(), clock) : InUse.NOBODY;
      Optional<NarAges> ages = Optional.empty();
      if (files.isPresent() && selection.uploadedBefore().isPresent() && files.get().hasLastModified()) {
        ages = Optional.of(files.get().narAges(dir, memory));
        opened.add(ages.get());
        description.add(String.format(Locale.ROOT, "NAR ages from the inventory (%,d objects; a HEAD request "
            + "for any other)", ages.get().count()));
      }
      String part = shard.equals(Shard.ALL) ? "" : " (shard " + shard + ")";
      if (files.isPresent()) {
        description.addFirst("reading narinfo keys from " + config.keysFrom().size() + " file(s)" + part
            + ", without listing the bucket");
        NarInfoKeys keys = files.get().narInfoKeys(shard);
        return new MigrationInput(keys, only, exclude, hot, inUse, ages,
            new ListingCheckpoint(catalog, Optional.empty(), Optional.empty(), clock), Optional.empty(), description);
      }
      String scope = objects.location() + " shard " + shard + " selection "
          + fingerprint(only, exclude, selection.olderThan(), config.trustedKeys())
          + (selection.byUse() ? " use " + fingerprint(hot, Optional.empty(), selection.unusedFor(), config.trustedKeys())
              : "");
      Optional<String> resume = config.restartListing() ? Optional.empty()
          : catalog.listingCheckpoints().get(scope);
      NarInfoListing listing = new NarInfoListing(objects, shard, resume);
      String name = shard.equals(Shard.ALL) ? "the cache" : "shard " + shard;
      description.addFirst(resume.isPresent()
          ? "listing " + objects.location() + part + " after " + resume.get() + ", where an earlier run's listing "
              + "stopped (--restart-listing lists from the start)"
          : "listing " + objects.location() + part + " from the start");
      double from = shard.from();
      if (resume.isPresent() && ProgressLine.keyspaceShare(resume.get()).isPresent()) {
        from = Math.max(from, ProgressLine.keyspaceShare(resume.get()).getAsDouble());
      }
      Optional<ProgressLine.Span> span = config.limit() == 0 && only.isEmpty() && from < shard.to()
          ? Optional.of(new ProgressLine.Span(from, shard.to(), resume.isPresent() ? "the rest of " + name : name))
          : Optional.empty();
      return new MigrationInput(listing, only, exclude, hot, inUse, ages,
          new ListingCheckpoint(catalog, Optional.of(scope), resume, clock), span, description);
    } catch (IOException | RuntimeException e) {
      for (AutoCloseable c : opened) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * Memory for sorting the selection's lists: an eighth of the heap, 4 to 64 MiB (so 10^8 hashes
   * sort in a 256 MiB heap, in batches of ~760 000).
   */
  static long memoryBudget() {
    return Math.clamp(Runtime.getRuntime().maxMemory() / 8, 4L << 20, 64L << 20);
  }

  /** A short digest of what decides which keys a run selects (and rejects). */
  static String fingerprint(Optional<StoreHashSet> only, Optional<StoreHashSet> exclude,
      Optional<java.time.Duration> olderThan, TrustedKeys trusted) {
    String text = "paths=" + only.map(StoreHashSet::digest).orElse("-") + " exclude="
        + exclude.map(StoreHashSet::digest).orElse("-") + " older-than=" + olderThan.map(Object::toString).orElse("-")
        + " trusted=" + trusted.keys().stream().map(Object::toString).sorted().toList();
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  NarInfoKeys keys() {
    return keys;
  }

  /**
   * Whether the lists select this store path and it is in no hot closure (its shard, age and
   * requests are judged elsewhere).
   */
  boolean wants(String storeHash) throws IOException {
    if (exclude.isPresent() && exclude.get().contains(storeHash)) {
      return false;
    }
    return (only.isEmpty() || only.get().contains(storeHash)) && !inUse.hot(storeHash);
  }

  /** Whether a NAR is in use (hot closures, requests): asked at selection and before each drain. */
  InUse inUse() {
    return inUse;
  }

  /**
   * What {@code --unused-for} means for this run: the window, and how far the imported logs cover
   * it. Requests before the first imported one are unknown, so a NAR used only then counts as
   * unused: said plainly when the window begins before the logs do.
   */
  private static String unusedDescription(Catalog catalog, java.time.Duration window, Clock clock)
      throws IOException {
    Instant since = clock.instant().minus(window);
    String base = "only NARs not requested since " + since + " (the last " + window.toDays() + " days) and uploaded "
        + "before then; ";
    Optional<AccessRecords.Coverage> coverage = catalog.access().coverage();
    if (coverage.isEmpty()) {
      return base + "WARNING: no request logs were imported (narvault access import): only the gateway's own "
          + "records count, so NARs that S3 or a CDN served count as unused";
    }
    AccessRecords.Coverage c = coverage.get();
    String covered = String.format(Locale.ROOT, "the %,d imported log files cover %s to %s", c.files(),
        Instant.ofEpochMilli(c.firstMillis()), Instant.ofEpochMilli(c.lastMillis()));
    if (c.firstMillis() > since.toEpochMilli()) {
      return base + "WARNING: " + covered + ", which begins after the window does: NARs requested only before "
          + Instant.ofEpochMilli(c.firstMillis()) + " count as unused";
    }
    return base + covered;
  }

  /** When the NAR object at {@code key} was last modified, if an inventory says. */
  Optional<Instant> lastModified(String key) throws IOException {
    return ages.isPresent() ? ages.get().lastModified(key) : Optional.empty();
  }

  ListingCheckpoint checkpoint() {
    return checkpoint;
  }

  /** The part of the key space the run lists, if its position predicts the end. */
  Optional<ProgressLine.Span> span() {
    return span;
  }

  /** Lines for the run's output: where keys come from, what is selected. */
  List<String> description() {
    return description;
  }

  @Override
  public void close() throws IOException {
    IOException failure = null;
    for (Optional<? extends AutoCloseable> c : List.of(Optional.of(keys), only, exclude, hot, ages)) {
      try {
        if (c.isPresent()) {
          c.get().close();
        }
      } catch (Exception e) {
        if (failure == null) {
          failure = e instanceof IOException io ? io : new IOException(e);
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** The bucket a store's location names last ({@code s3://bucket}, {@code http://endpoint/bucket}). */
  private static Optional<String> bucketOf(String location) {
    String trimmed = location.replaceAll("/+$", "");
    int slash = trimmed.lastIndexOf('/');
    return slash < 0 || slash == trimmed.length() - 1 ? Optional.empty() : Optional.of(trimmed.substring(slash + 1));
  }
}
