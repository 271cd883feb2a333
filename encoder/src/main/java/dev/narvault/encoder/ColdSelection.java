package dev.narvault.encoder;

import dev.narvault.encoder.input.Shard;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Which NARs a run archives. A store path is selected when its hash is in the run's
 * {@code shard}, it is not in the {@code exclude} list, it is in the {@code only} list when there
 * is one, and its NAR object was last modified at least {@code olderThan} ago when that is set.
 * Without any of them, everything is selected.
 *
 * <p>The lists are files of store paths or hashes, one per line, of any length: a run sorts them
 * onto disk ({@link dev.narvault.encoder.sorted.StoreHashSet}) rather than into memory.
 *
 * @param olderThan only NAR objects whose S3 LastModified is at least this old (cold)
 * @param only a list of the store paths to consider (from {@code --paths}); empty: all
 * @param exclude a list of store paths never to archive (from {@code --exclude}, e.g. live closures)
 * @param shard the part of the store hashes this run takes (from {@code --shard})
 */
public record ColdSelection(Optional<Duration> olderThan, Optional<Path> only, Optional<Path> exclude, Shard shard) {
  public static final ColdSelection ALL = new ColdSelection(Optional.empty(), Optional.empty(), Optional.empty());

  public ColdSelection {
    olderThan.ifPresent(d -> {
      if (d.isNegative()) {
        throw new IllegalArgumentException("--older-than must not be negative, got " + d);
      }
    });
  }

  /** A selection of every shard. */
  public ColdSelection(Optional<Duration> olderThan, Optional<Path> only, Optional<Path> exclude) {
    this(olderThan, only, exclude, Shard.ALL);
  }

  /** The same selection, of one shard. */
  public ColdSelection withShard(Shard part) {
    return new ColdSelection(olderThan, only, exclude, part);
  }

  /** Whether an object last modified at {@code lastModified} is cold enough at {@code now}. */
  public boolean coldEnough(Instant lastModified, Instant now) {
    return olderThan.map(d -> !lastModified.isAfter(now.minus(d))).orElse(true);
  }
}
