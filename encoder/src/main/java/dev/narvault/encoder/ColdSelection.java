package dev.narvault.encoder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which NARs a run archives. A store path is selected when it is not excluded, is in the
 * {@code only} list when there is one, and its NAR object was last modified before
 * {@code olderThan} ago when that is set. Without any of them, everything is selected.
 *
 * @param olderThan only NAR objects whose S3 LastModified is at least this old (cold)
 * @param only store-path hashes to consider (from {@code --paths}); empty: all
 * @param exclude store-path hashes never to archive (from {@code --exclude}, e.g. live closures)
 */
public record ColdSelection(Optional<Duration> olderThan, Optional<Set<String>> only, Set<String> exclude) {
  private static final Pattern HASH = Pattern.compile("(?:^|/)([0-9a-df-np-sv-z]{32})(?:-[^/]*)?$");

  public static final ColdSelection ALL = new ColdSelection(Optional.empty(), Optional.empty(), Set.of());

  public ColdSelection {
    olderThan.ifPresent(d -> {
      if (d.isNegative()) {
        throw new IllegalArgumentException("--older-than must not be negative, got " + d);
      }
    });
    only = only.map(Set::copyOf);
    exclude = Set.copyOf(exclude);
  }

  /** Whether the store path is wanted at all, before looking at its object. */
  public boolean wants(String storeHash) {
    return !exclude.contains(storeHash) && only.map(s -> s.contains(storeHash)).orElse(true);
  }

  /** Whether an object last modified at {@code lastModified} is cold enough at {@code now}. */
  public boolean coldEnough(Instant lastModified, Instant now) {
    return olderThan.map(d -> !lastModified.isAfter(now.minus(d))).orElse(true);
  }

  /**
   * Reads a list of store paths or their hashes, one per line ({@code /nix/store/<hash>-name},
   * {@code <hash>-name} or {@code <hash>}); blank lines and {@code #} comments are skipped.
   *
   * @throws IllegalArgumentException naming the first line that is none of these
   */
  public static Set<String> readHashes(Path file) throws IOException {
    Set<String> hashes = new HashSet<>();
    int n = 0;
    for (String line : Files.readAllLines(file)) {
      n++;
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      Matcher m = HASH.matcher(l);
      if (!m.find()) {
        throw new IllegalArgumentException(file + ":" + n + ": not a store path or hash: '" + l + "'");
      }
      hashes.add(m.group(1));
    }
    return hashes;
  }
}
