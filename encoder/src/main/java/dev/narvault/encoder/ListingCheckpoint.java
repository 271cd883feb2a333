package dev.narvault.encoder;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How far a run's listing is fully handled, saved in the catalog as it goes
 * ({@link dev.narvault.core.catalog.ListingCheckpoints}) so that a run killed part way is
 * continued by the next one after the last key saved, not from the start.
 *
 * <p><b>Fully handled.</b> A key leaves the listing long before its NAR is safe: it waits in the
 * fetch window, then in the pack being filled, then in the pack being sealed. It is
 * <em>resolved</em> once nothing more is to be done about it in this pass: its pack committed
 * (the catalog transaction that records its NAR), or it turned out archived already, an alias
 * recorded, rejected, or not selected. The checkpoint is the greatest key K such that every key
 * listed up to K is resolved; it never passes a key still in the window or in a pack not
 * committed, so a crash loses nothing the next run would not list again. (What it does list
 * again is cheap: a key whose NAR is archived is skipped on one catalog lookup.)
 *
 * <p>A key another worker had claimed ("busy") is not resolved by this worker: only if the
 * other archives this very store path. Busy keys are checked again (is their store path archived
 * now?) each time the checkpoint is saved; one that never is holds the checkpoint back for the
 * rest of the run, which stays safe. Workers on distinct shards rarely meet one.
 *
 * <p><b>Memory.</b> Keys are kept in listing order only from the first unresolved one on, and
 * each stretch of resolved keys between unresolved ones shrinks to its last key: at most twice
 * the unresolved keys (the window, the pack filling, the pack sealing, busy keys), whatever the
 * listing's length.
 *
 * <p><b>Saving.</b> At every pack committed, and otherwise every {@value #SAVE_EVERY_SECONDS}
 * s while keys resolve (a long stretch of archived keys). A run that lists to the end clears the
 * checkpoint ({@link #complete}): the next run starts a new pass, which sees keys added since
 * anywhere in the key space. Scoped by the run (bucket, shard, selection): see {@link
 * MigrationInput}. Used by the run's own thread only.
 */
final class ListingCheckpoint {
  private static final Logger LOG = LoggerFactory.getLogger(ListingCheckpoint.class);
  static final int SAVE_EVERY_SECONDS = 10;
  /** Busy keys checked again per save, oldest first: only the first ones can hold it back. */
  private static final int BUSY_CHECKED = 100;

  private final Catalog catalog;
  private final Optional<String> scope;
  private final Clock clock;
  /** Keys in listing order from the first unresolved one; resolved stretches merged into their last key. */
  private Ticket head;
  private Ticket tail;
  /** Every key listed up to this one is resolved; empty before the first. */
  private Optional<String> safe;
  private Optional<String> saved;
  private long savedAtMillis;
  private final List<Busy> busy = new ArrayList<>();

  /** A key taken from the listing, in listing order; resolved at most once. */
  static final class Ticket {
    private String key;
    private boolean resolved;
    private Ticket previous;
    private Ticket next;

    private Ticket(String key, boolean resolved) {
      this.key = key;
      this.resolved = resolved;
    }
  }

  private record Busy(Ticket ticket, String storeHash) {}

  /**
   * @param scope what the checkpoint is saved under; empty: kept in memory only (input from
   *     files, which has no listing to continue)
   * @param resumedAfter where this run's listing started (a saved checkpoint), if anywhere
   */
  ListingCheckpoint(Catalog catalog, Optional<String> scope, Optional<String> resumedAfter, Clock clock) {
    this.catalog = catalog;
    this.scope = scope;
    this.clock = clock;
    this.safe = resumedAfter;
    this.saved = resumedAfter;
    this.savedAtMillis = clock.millis();
  }

  /** The key up to which everything listed is resolved, if any yet. */
  Optional<String> safeKey() {
    return safe;
  }

  /** Keys kept in memory: the unresolved ones and one per stretch of resolved ones between them. */
  int keptKeys() {
    int n = 0;
    for (Ticket t = head; t != null; t = t.next) {
      n++;
    }
    return n;
  }

  /** Notes the next key of the listing, not resolved yet. */
  Ticket listed(String key) {
    Ticket t = new Ticket(key, false);
    append(t);
    return t;
  }

  /** Notes the next key of the listing, resolved at once (not selected, say). */
  void listedResolved(String key) {
    if (head == null) {
      safe = Optional.of(key);
    } else if (tail.resolved) {
      tail.key = key;
    } else {
      append(new Ticket(key, true));
    }
  }

  private void append(Ticket t) {
    if (tail == null) {
      head = t;
    } else {
      tail.next = t;
      t.previous = tail;
    }
    tail = t;
  }

  /** Nothing more is to be done about this key in this pass. */
  void resolved(Ticket t) {
    if (t.resolved) {
      return;
    }
    t.resolved = true;
    // Merge with resolved neighbours: a stretch is remembered by its last key.
    Ticket next = t.next;
    if (next != null && next.resolved) {
      t.key = next.key;
      unlink(next);
    }
    Ticket previous = t.previous;
    if (previous != null && previous.resolved) {
      previous.key = t.key;
      unlink(t);
    }
    while (head != null && head.resolved) {
      safe = Optional.of(head.key);
      unlink(head);
    }
  }

  private void unlink(Ticket t) {
    if (t.previous == null) {
      head = t.next;
    } else {
      t.previous.next = t.next;
    }
    if (t.next == null) {
      tail = t.previous;
    } else {
      t.next.previous = t.previous;
    }
    t.previous = null;
    t.next = null;
  }

  /** Another worker had claimed this key's object: resolved only once its store path is archived. */
  void busy(Ticket t, String storeHash) {
    busy.add(new Busy(t, storeHash));
  }

  /** The keys of a pack whose catalog transaction committed: resolved, and the checkpoint saved. */
  void packCommitted(List<Ticket> tickets) {
    tickets.forEach(this::resolved);
    save();
  }

  /** Saves if the last save is {@value #SAVE_EVERY_SECONDS} s old (call it as keys resolve). */
  void tick() {
    if (clock.millis() - savedAtMillis >= Duration.ofSeconds(SAVE_EVERY_SECONDS).toMillis()) {
      save();
    }
  }

  /**
   * Saves the checkpoint now if it moved. A failure to save is logged, not thrown: an older
   * checkpoint is as safe, and the run's work goes on.
   */
  void save() {
    savedAtMillis = clock.millis();
    if (scope.isEmpty()) {
      return;
    }
    try {
      recheckBusy();
      if (safe.isPresent() && !safe.equals(saved)) {
        catalog.listingCheckpoints().save(scope.get(), safe.get(), clock.millis());
        saved = safe;
      }
    } catch (CatalogException e) {
      LOG.warn("could not save the listing checkpoint of {} at {}: {}", scope.get(), safe.orElse(""), e.getMessage());
    }
  }

  private void recheckBusy() throws CatalogException {
    int checked = 0;
    for (Iterator<Busy> it = busy.iterator(); it.hasNext() && checked < BUSY_CHECKED; checked++) {
      Busy b = it.next();
      if (catalog.isArchived(b.storeHash())) {
        resolved(b.ticket());
        it.remove();
      }
    }
  }

  /**
   * The listing reached its end: the next run starts a new pass (in which keys left busy here are
   * listed again). A failure to clear is logged: the next run then continues from the last save,
   * which is safe, and clears it at its own end.
   */
  void complete() {
    if (scope.isEmpty()) {
      return;
    }
    try {
      catalog.listingCheckpoints().clear(scope.get());
    } catch (CatalogException e) {
      LOG.warn("could not clear the listing checkpoint of {}: {}", scope.get(), e.getMessage());
    }
  }
}
