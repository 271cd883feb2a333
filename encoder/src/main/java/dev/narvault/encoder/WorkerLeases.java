package dev.narvault.encoder;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one migrate worker keeps alive in the catalog while it works, renewed together on one
 * rhythm ({@link #renew}, every quarter of the lifetime): its claims on S3 objects, so that other
 * workers leave those objects alone, and the packs it is placing and has not committed
 * ({@link Catalog#pendingPacks()}), so that garbage collection leaves their fragments alone
 * however long placing, confirming and committing take. A worker that dies stops renewing, and
 * both lapse within {@code lifetime}.
 */
final class WorkerLeases {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerLeases.class);

  /** Work done while a pack is pending. */
  @FunctionalInterface
  interface Work<T> {
    T run() throws IOException;
  }

  private final Catalog catalog;
  private final String worker;
  private final Duration lifetime;
  private final InstantSource clock;
  /** Packs pending, each with the time until which the catalog last confirmed its mark. */
  private final Map<PackId, Long> pending = new ConcurrentHashMap<>();
  /** Pending packs whose mark lapsed at some point: garbage collection may have taken their fragments. */
  private final Set<PackId> lapsed = ConcurrentHashMap.newKeySet();

  WorkerLeases(Catalog catalog, String worker, Duration lifetime, InstantSource clock) {
    this.catalog = catalog;
    this.worker = worker;
    this.lifetime = lifetime;
    this.clock = clock;
  }

  /** How often {@link #renew} should run: a quarter of the lifetime (at least 250 ms). */
  Duration renewEvery() {
    return Duration.ofMillis(Math.max(250, lifetime.toMillis() / 4));
  }

  /**
   * Extends this worker's object claims and pending packs to a lifetime from now. Synchronized
   * with finishing a pack, so that a renewal never marks a finished pack pending again.
   */
  synchronized void renew() throws CatalogException {
    long until = clock.millis() + lifetime.toMillis();
    catalog.journal().renewClaims(worker, until);
    for (PackId packId : pending.keySet()) {
      if (catalog.pendingPacks().extend(packId, worker, until, clock.millis())) {
        pending.put(packId, until);
      } else if (lapsed.add(packId)) {
        LOG.warn("pack {}: its pending mark lapsed before it was renewed; it will not be committed", packId);
      }
    }
  }

  /**
   * Fails unless {@code packId}'s pending mark has been alive all along and stays alive for at
   * least one more renewal period: called right before the pack is committed. A mark that lapsed
   * (renewals failed for a whole lifetime, e.g. the catalog was unreachable from this worker)
   * means garbage collection may have deleted fragments the commit would name; the pack is then
   * not committed, its NARs stay in S3, and a later run archives them again.
   */
  void checkHeld(PackId packId) throws IOException {
    Long until = pending.get(packId);
    long now = clock.millis();
    if (until == null || lapsed.contains(packId) || until - now < renewEvery().toMillis()) {
      throw new IOException("pack " + packId + ": its pending mark lapsed or is about to (renewals of this "
          + "worker's leases failed for about " + lifetime + "), so garbage collection may have deleted fragments "
          + "of it; not committing it: its NARs stay in S3 and a later run archives them again");
    }
  }

  /**
   * Runs {@code work} with {@code packId} pending: registered before it starts (so before any
   * placement order for it exists), renewed meanwhile, finished when it ends, committed or not.
   */
  <T> T whilePending(PackId packId, Work<T> work) throws IOException {
    try {
      // The row first, then the map, together: a renewal running between the two would find no
      // row and take the pack for lapsed.
      synchronized (this) {
        long until = clock.millis() + lifetime.toMillis();
        catalog.pendingPacks().renew(packId, worker, until);
        pending.put(packId, until);
      }
      return work.run();
    } finally {
      synchronized (this) {
        pending.remove(packId);
        lapsed.remove(packId);
        try {
          catalog.pendingPacks().finish(packId);
        } catch (CatalogException e) {
          // It lapses by itself within the lifetime; the work's own outcome stands.
          LOG.warn("pack {}: could not end its pending mark: {}", packId, e.getMessage());
        }
      }
    }
  }
}
