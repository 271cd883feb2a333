package dev.narvault.encoder;

import dev.narvault.encoder.input.Shard;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Which NARs a run archives. A store path is selected when its hash is in the run's
 * {@code shard}, it is not in the {@code exclude} list, it is in the {@code only} list when there
 * is one, it is in no closure of the {@code hotRoots}, it was not requested within
 * {@code unusedFor} (by the catalog's access records, under its store hash or its NAR's key), and
 * its NAR object was last modified (uploaded) at least {@code olderThan} and {@code unusedFor}
 * ago when they are set. Without any of them, everything is selected.
 *
 * <p>The lists are files of store paths or hashes, one per line, of any length: a run sorts them
 * onto disk ({@link dev.narvault.encoder.sorted.StoreHashSet}) rather than into memory; so are
 * the hot roots' closures ({@link dev.narvault.encoder.input.HotClosure}).
 *
 * @param olderThan only NAR objects whose S3 LastModified is at least this old
 * @param only a list of the store paths to consider (from {@code --paths}); empty: all
 * @param exclude a list of store paths never to archive (from {@code --exclude}, e.g. live closures)
 * @param shard the part of the store hashes this run takes (from {@code --shard})
 * @param unusedFor only NARs nobody requested within this long, uploaded before it began
 *     ({@code --unused-for}); their archived objects are drained only while that stays true
 * @param hotRoots lists of store paths ({@code store-paths.xz} or plain) whose closures over
 *     References are never archived or drained ({@code --hot-roots})
 */
public record ColdSelection(Optional<Duration> olderThan, Optional<Path> only, Optional<Path> exclude, Shard shard,
    Optional<Duration> unusedFor, List<Path> hotRoots) {
  public static final ColdSelection ALL = new ColdSelection(Optional.empty(), Optional.empty(), Optional.empty());

  public ColdSelection {
    hotRoots = List.copyOf(hotRoots);
    olderThan.ifPresent(d -> {
      if (d.isNegative()) {
        throw new IllegalArgumentException("--older-than must not be negative, got " + d);
      }
    });
    unusedFor.ifPresent(d -> {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("--unused-for must be positive, got " + d);
      }
    });
  }

  /** A selection by age and lists, of one shard. */
  public ColdSelection(Optional<Duration> olderThan, Optional<Path> only, Optional<Path> exclude, Shard shard) {
    this(olderThan, only, exclude, shard, Optional.empty(), List.of());
  }

  /** A selection of every shard. */
  public ColdSelection(Optional<Duration> olderThan, Optional<Path> only, Optional<Path> exclude) {
    this(olderThan, only, exclude, Shard.ALL);
  }

  /** The same selection, of one shard. */
  public ColdSelection withShard(Shard part) {
    return new ColdSelection(olderThan, only, exclude, part, unusedFor, hotRoots);
  }

  /** The same selection, judged also by use: not requested within {@code unused}, in no hot closure. */
  public ColdSelection withUse(Optional<Duration> unused, List<Path> roots) {
    return new ColdSelection(olderThan, only, exclude, shard, unused, roots);
  }

  /** How long ago a NAR object must have been uploaded, if the selection says: the longer of both. */
  public Optional<Duration> uploadedBefore() {
    if (olderThan.isPresent() && unusedFor.isPresent()) {
      return Optional.of(olderThan.get().compareTo(unusedFor.get()) >= 0 ? olderThan.get() : unusedFor.get());
    }
    return olderThan.isPresent() ? olderThan : unusedFor;
  }

  /** Whether an object last modified at {@code lastModified} is cold enough at {@code now}. */
  public boolean coldEnough(Instant lastModified, Instant now) {
    return uploadedBefore().map(d -> !lastModified.isAfter(now.minus(d))).orElse(true);
  }

  /** Whether use decides too (requests or hot roots), not only age and lists. */
  public boolean byUse() {
    return unusedFor.isPresent() || !hotRoots.isEmpty();
  }
}
