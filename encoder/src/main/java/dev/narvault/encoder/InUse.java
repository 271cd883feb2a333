package dev.narvault.encoder;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.encoder.sorted.StoreHashSet;
import java.io.IOException;
import java.time.Clock;
import java.time.InstantSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Whether a NAR is in use, so stays in S3: one of its store paths is in a hot root's closure, or
 * it was requested (under a store hash or its object's key) within the {@code --unused-for}
 * window, as the catalog's access records say now. Asked when a narinfo is selected, and again
 * right before an archived object is drained: a NAR that became hot since it was archived is not
 * drained. Counts what it kept, for the summary.
 */
final class InUse {
  /** Nothing is in use: selection by age and lists alone. */
  static final InUse NOBODY = new InUse(Optional.empty(), Optional.empty(), null, Clock.systemUTC());

  private final Optional<StoreHashSet> hot;
  private final Optional<Duration> window;
  private final AccessRecords access;
  private final InstantSource clock;
  private final AtomicLong keptHot = new AtomicLong();
  private final AtomicLong keptRequested = new AtomicLong();

  /**
   * @param hot the hot roots' closures, if any
   * @param window the {@code --unused-for} window, if any
   */
  InUse(Optional<StoreHashSet> hot, Optional<Duration> window, AccessRecords access, InstantSource clock) {
    this.hot = hot;
    this.window = window;
    this.access = access;
    this.clock = clock;
  }

  /** Whether use is judged at all. */
  boolean judges() {
    return hot.isPresent() || window.isPresent();
  }

  /** The window, when requests are judged. */
  Optional<Duration> window() {
    return window;
  }

  /** Whether the store path is in a hot root's closure (counted when it is). */
  boolean hot(String storeHash) throws IOException {
    if (hot.isPresent() && hot.get().contains(storeHash)) {
      keptHot.incrementAndGet();
      return true;
    }
    return false;
  }

  /** Whether any of these subjects was requested within the window (counted when one was). */
  boolean requested(Collection<String> subjects) throws CatalogException {
    if (window.isEmpty() || subjects.isEmpty()) {
      return false;
    }
    OptionalLong last = access.lastRequest(subjects);
    if (last.isPresent() && last.getAsLong() > clock.millis() - window.get().toMillis()) {
      keptRequested.incrementAndGet();
      return true;
    }
    return false;
  }

  /** Why the object named by these store paths and key stays in S3, or empty when it need not. */
  Optional<String> why(List<String> storeHashes, String fileKey) throws IOException {
    for (String h : storeHashes) {
      if (hot(h)) {
        return Optional.of("store path " + h + " is in a hot root's closure");
      }
    }
    List<String> subjects = new ArrayList<>(storeHashes);
    subjects.add(fileKey);
    if (requested(subjects)) {
      return Optional.of("requested within the last " + window.orElseThrow().toDays() + " days");
    }
    return Optional.empty();
  }

  /** Store paths and objects kept because they are in a hot closure. */
  long keptHot() {
    return keptHot.get();
  }

  /** Store paths and objects kept because they were requested within the window. */
  long keptRequested() {
    return keptRequested.get();
  }
}
