package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Custody;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.net.URI;
import java.time.InstantSource;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes copies nobody needs, with signed DELETE orders, from holders that are reachable: copies
 * repair replaced (a holder that came back after its fragments were rebuilt), copies found corrupt,
 * and fragments of placements that never committed (their order expired over an hour ago and no
 * pack names that fragment on that holder). A copy is forgotten once its holder deleted it or
 * said it never had it; an unreachable holder is asked again next round.
 */
public final class GarbageCollector {
  private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
  private static final int PER_ROUND = 1000;

  private final Catalog catalog;
  private final HolderClient holders;
  private final PlacementService placements;
  private final HolderRules rules;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;

  public GarbageCollector(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules,
      CoordinatorMetrics metrics, InstantSource clock) {
    this.catalog = catalog;
    this.holders = holders;
    this.placements = placements;
    this.rules = rules;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** One round; returns how many copies were deleted (or found already gone). */
  public int collectOnce() throws CatalogException {
    long now = clock.millis();
    List<String> reachable = catalog.holders().stream().filter(h -> rules.live(h, now))
        .map(HolderRecord::holderId).toList();
    // An order's fragment is garbage only well after the order expired: by then no worker can
    // still be uploading it or about to commit it.
    long expiredBefore = now - PlacementService.ORDER_LIFETIME.toMillis();
    int deleted = 0;
    for (Custody.Garbage g : catalog.custody().garbage(reachable, expiredBefore, PER_ROUND)) {
      try {
        boolean had = holders.delete(URI.create(g.endpoint()), new FragmentId(g.fragmentId()),
            placements.deleteOrder(g.fragmentId(), g.holderId()));
        catalog.custody().forget(g);
        deleted++;
        metrics.garbageDeleted.increment();
        LOG.info("deleted {} copy {} from holder {} ({})", g.kind().name().toLowerCase(java.util.Locale.ROOT), g.fragmentId(),
            g.holderId(), had ? "deleted" : "was not there");
      } catch (IOException e) {
        LOG.debug("holder {} could not delete {} now: {}", g.holderId(), g.fragmentId(), e.getMessage());
      }
    }
    return deleted;
  }
}
