package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Custody;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.TrashedCopies;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.net.URI;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.repair.policy.PackHealth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deletes copies nobody needs, with signed DELETE orders, from holders that are reachable: copies
 * repair replaced (a holder that came back after its fragments were rebuilt), copies found corrupt,
 * and fragments of placements that never committed (their order expired over an hour ago and no
 * pack names that fragment on that holder). A copy is forgotten once its holder deleted it or
 * said it never had it; an unreachable holder is asked again next round.
 *
 * <p><b>Every verifiable copy is custody until its pack is whole.</b> A fragment copy of a
 * recorded pack is deleted only when that pack has all {@code k + m} fragments counted — stored
 * on trusted holders (healthy, neither suspect nor suspended), within the domain limits — without
 * it, checked again from the catalog right before each DELETE. Otherwise it is kept, and stays a
 * repair and read source
 * (repair may revive it). Holders keep what they delete in a trash for a while, too.
 *
 * <p>Several coordinators on one catalog collect one at a time (the {@value #LEASE} lease, confirmed
 * before each DELETE), and each copy is judged and deleted under its pack's claim, which repair
 * and revival also take: nothing makes the copy count again between the check and the DELETE.
 */
public final class GarbageCollector {
  private static final Logger LOG = LoggerFactory.getLogger(GarbageCollector.class);
  private static final int PER_ROUND = 1000;
  /** How long a retired pack's fragments are kept after its rewrite committed: longer than any read. */
  static final java.time.Duration RETIRED_GRACE = java.time.Duration.ofHours(1);

  private final Catalog catalog;
  private final HolderClient holders;
  private final PlacementService placements;
  private final HolderRules rules;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;
  private final java.time.Duration forgetAfter;
  private final SharedWork shared;

  /**
   * @param forgetAfter how long a holder must have been neither heard from nor reached before the
   *     catalog forgets its copies that no longer count ({@link #forgetGoneHolders})
   * @param shared the leases that keep other coordinators on this catalog from collecting at once
   */
  GarbageCollector(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules,
      CoordinatorMetrics metrics, InstantSource clock, java.time.Duration forgetAfter, SharedWork shared) {
    this.shared = shared;
    this.catalog = catalog;
    this.holders = holders;
    this.placements = placements;
    this.rules = rules;
    this.metrics = metrics;
    this.clock = clock;
    this.forgetAfter = forgetAfter;
  }

  /**
   * Whether the pack of this garbage is whole without it, judged now: every index counted on a
   * trusted holder within the domain limits, the garbage's own row not counted. A pack not
   * recorded at all (an order whose placement never committed, and no worker is still committing
   * it) needs no copy, nor does a retired pack (rewritten without its forgotten NARs) once
   * {@link #RETIRED_GRACE} has passed since it was retired.
   */
  boolean wholeWithout(Custody.Garbage g) throws CatalogException {
    // Pending first, then the pack: a worker commits the pack before it stops being pending, so
    // a commit between the two reads shows up as a recorded pack, never as nothing at all.
    if (catalog.pendingPacks().pending(g.packId(), clock.millis())) {
      return false;
    }
    var retired = catalog.packs().retired(g.packId());
    if (retired.isPresent()) {
      // A gateway read that looked the NAR up before the rewrite committed may still be
      // streaming from the old pack's fragments.
      return clock.millis() - retired.get().retiredMillis() >= RETIRED_GRACE.toMillis();
    }
    var shape = catalog.custody().shape(g.packId());
    if (shape.isEmpty()) {
      return true;
    }
    long now = clock.millis();
    Map<HolderId, HolderRecord> byId = holdersById();
    List<FragmentPlacement> rows = catalog.placements(g.packId()).stream()
        .filter(p -> !(p.holderId().equals(g.holderId()) && p.fragmentId().equals(g.fragmentId())))
        .toList();
    PackHealth health = PackHealth.of(g.packId(), shape.get().dataFragmentCount(),
        shape.get().parityFragmentCount(), rows, new PackHealth.Holders() {
          @Override
          public boolean healthy(HolderId holderId) {
            // Only holders in good standing: a suspect or suspended holder's copy may be the one
            // that is missing, and the copy about to be deleted may be the last good one.
            HolderRecord h = byId.get(holderId);
            return h != null && rules.trusted(h, now);
          }

          @Override
          public boolean live(HolderId holderId) {
            HolderRecord h = byId.get(holderId);
            return h != null && rules.live(h, now);
          }

          @Override
          public FailureDomain domain(HolderId holderId) {
            HolderRecord h = byId.get(holderId);
            return h == null ? FailureDomain.of(holderId, "", "") : PlacementService.domain(h);
          }
        }, placements.limits());
    return health.whole();
  }

  /**
   * Whether the signed document of this garbage (a manifest or an alias, what a catalog rebuild
   * from the holders needs) has {@link dev.narvault.core.coordinator.DocumentPlacer#COPIES} stored copies
   * on trusted holders other than this one, judged now.
   */
  boolean documentCoveredWithout(Custody.Garbage g, long now) throws CatalogException {
    Map<HolderId, HolderRecord> byId = holdersById();
    var document = catalog.documents().document(g.fragmentId());
    if (document.isEmpty()) {
      // A document the catalog never recorded: nothing to keep a copy for.
      return true;
    }
    if (document.get().retired()) {
      // The manifest or an alias of a rewritten pack: its NARs are in the new pack, whose manifest
      // lists them. The manifest goes with the pack's fragments, not before: a catalog rebuilt
      // from the holders meanwhile must find it to know those fragments for a retired pack's.
      if (!document.get().kind().equals("manifest")) {
        return true;
      }
      var retired = catalog.packs().retired(document.get().packId());
      return retired.isEmpty() || now - retired.get().retiredMillis() >= RETIRED_GRACE.toMillis();
    }
    long good = document.get().holders().stream()
        .filter(id -> !id.equals(g.holderId()))
        .map(byId::get)
        .filter(h -> h != null && rules.trusted(h, now))
        .count();
    return good >= dev.narvault.core.coordinator.DocumentPlacer.COPIES;
  }

  /** Every holder's row, read now (the checks before a delete never reuse an earlier read). */
  private Map<HolderId, HolderRecord> holdersById() throws CatalogException {
    Map<HolderId, HolderRecord> byId = new HashMap<>();
    for (HolderRecord h : catalog.holders()) {
      byId.put(h.holderId(), h);
    }
    return byId;
  }

  /** The lease of garbage collection: one coordinator collects at a time. */
  static final String LEASE = "gc";

  /** One round now (unless another coordinator is collecting); returns how many copies were deleted or forgotten. */
  public int collectOnce() throws CatalogException {
    return collectRound(clock.millis());
  }

  /**
   * One round, if no other coordinator on the catalog collected since the last one's
   * {@code nextDueMillis} or is collecting now ({@link #LEASE}); the next is due at
   * {@code nextDueMillis}. The lease is confirmed before each DELETE and each copy forgotten: a
   * round that lost it (it stalled past the lease, and another coordinator took over) stops.
   */
  int collectRound(long nextDueMillis) throws CatalogException {
    return shared.run(LEASE, nextDueMillis, this::collect).orElse(0);
  }

  private int collect(SharedWork.Held held) throws CatalogException {
    long now = clock.millis();
    // Holders in a new order and rows from a random pack id each round: copies that must be kept
    // (their packs are not whole yet) never hide the garbage behind them.
    Map<HolderId, String> provenAt = new HashMap<>();
    List<HolderId> reachable = new java.util.ArrayList<>();
    for (HolderRecord h : catalog.holders()) {
      if (rules.live(h, now)) {
        reachable.add(h.holderId());
        provenAt.put(h.holderId(), h.seenAddress());
      }
    }
    java.util.Collections.shuffle(reachable, java.util.concurrent.ThreadLocalRandom.current());
    byte[] start = new byte[32];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(start);
    String from = java.util.HexFormat.of().formatHex(start);
    // An order's fragment is garbage only well after the order expired: by then no worker can
    // still be uploading it or about to commit it.
    long expiredBefore = now - PlacementService.ORDER_LIFETIME.toMillis();
    int deleted = 0;
    // A delete that cannot reach its holder counts against the holder's liveness, once a round:
    // the rest of its garbage waits (no timeout per copy, no suspension score run down by one outage).
    Set<HolderId> unreached = new HashSet<>();
    Set<HolderId> reached = new HashSet<>();
    for (Custody.Garbage g : catalog.custody().garbage(reachable, expiredBefore, PER_ROUND, from)) {
      if (unreached.contains(g.holderId())) {
        continue;
      }
      held.check();
      // The pack's claim, held while deciding, deleting and forgetting: repair and revival (here
      // or on another coordinator) change a pack's copies only under it, so none of them can make
      // this copy count again between the check and the DELETE. An audit can (it takes no claim),
      // and so can a document copy placed again: after its DELETE the copy is forgotten whatever
      // its row says by then. A claimed pack waits a round.
      Optional<PackId> claimed = claim(g);
      if (claimed.isEmpty() && g.kind() != Custody.Garbage.Kind.DOCUMENT
          && catalog.custody().shape(g.packId()).isPresent()) {
        metrics.garbageKept.increment();
        continue;
      }
      try {
        if (!catalog.custody().stillGarbage(g, expiredBefore)) {
          continue; // collected by another round, or counts again (revived, placed anew)
        }
        if (g.kind() == Custody.Garbage.Kind.DOCUMENT ? !documentCoveredWithout(g, now) : !wholeWithout(g)) {
          metrics.garbageKept.increment();
          LOG.debug("keeping {} copy {} on holder {}: {} {} needs it", g.kind(), g.fragmentId(), g.holderId(),
              g.kind() == Custody.Garbage.Kind.DOCUMENT ? "document of pack" : "pack", g.packId());
          continue;
        }
        // Confirmed again just before the DELETE: the checks above may have waited on the catalog.
        held.check();
        if (claimed.isPresent() && !catalog.repairClaims().renewClaim(claimed.get(), shared.owner(),
            clock.millis() + SharedWork.LEASE.toMillis())) {
          continue; // another coordinator took the pack over meanwhile
        }
        deleted += delete(g, provenAt, reached, unreached);
      } finally {
        if (claimed.isPresent()) {
          catalog.repairClaims().release(claimed.get(), shared.owner());
        }
      }
    }
    return deleted + forgetGoneHolders(held);
  }

  /** Claims the pack of a fragment copy or order, if it is recorded and free; documents are not claimed. */
  private Optional<PackId> claim(Custody.Garbage g) throws CatalogException {
    if (g.kind() == Custody.Garbage.Kind.DOCUMENT) {
      return Optional.empty();
    }
    long now = clock.millis();
    return catalog.repairClaims().claim(g.packId(), shared.owner(), now, now + SharedWork.LEASE.toMillis())
        ? Optional.of(g.packId()) : Optional.empty();
  }

  /** Sends the DELETE and forgets the copy; returns 1 if it did, 0 if the holder refused or was not reached. */
  private int delete(Custody.Garbage g, Map<HolderId, String> provenAt, Set<HolderId> reached, Set<HolderId> unreached)
      throws CatalogException {
    try {
      if (g.kind() == Custody.Garbage.Kind.FRAGMENT) {
        // In the holder's trash once deleted: a copy of last resort, remembered before the DELETE
        // (an answer lost on the way would otherwise leave it unremembered; a copy never trashed
        // is only asked for in vain, and forgotten after the trash time).
        catalog.trashed().record(new TrashedCopies.Trashed(g.packId(), g.fragmentIndex(), g.fragmentId(),
            g.holderId(), clock.millis()));
      }
      boolean had = holders.delete(URI.create(dev.narvault.core.holder.HolderEndpoints.pinned(g.endpoint(), provenAt.get(g.holderId()))),
          new FragmentId(g.fragmentId()), placements.deleteOrder(g.fragmentId(), g.holderId()));
      if (reached.add(g.holderId())) {
        catalog.registry().recordContact(g.holderId(), true, clock.millis());
      }
      // Gone from the holder whatever its row says now (an audit may have passed it meanwhile).
      catalog.custody().forgetDeleted(g);
      metrics.garbageDeleted.increment();
      LOG.info("deleted {} copy {} from holder {} ({})", g.kind().name().toLowerCase(java.util.Locale.ROOT), g.fragmentId(),
          g.holderId(), had ? "deleted" : "was not there");
      return 1;
    } catch (CatalogException e) {
      throw e;
    } catch (IOException e) {
      if (e instanceof HolderRefusedException refused && refused.status() < 500) {
        LOG.debug("holder {} refused to delete {} now: {}", g.holderId(), g.fragmentId(), e.getMessage());
        return 0;
      }
      unreached.add(g.holderId());
      catalog.registry().recordContact(g.holderId(), false, clock.millis());
      LOG.debug("holder {} unreachable, could not delete {} now: {}", g.holderId(), g.fragmentId(), e.getMessage());
      return 0;
    }
  }

  /**
   * Holders gone for good (neither heard from nor reached for {@code forgetAfter}) cannot be asked
   * to delete anything, and their rows would otherwise stay forever: every repair round would
   * look at their packs, and the catalog would grow with every volunteer who ever left. Their
   * copies that no longer count (superseded, corrupt, unverified; expired orders) are forgotten
   * under the very rule a DELETE follows: only while the pack is whole without them, on trusted
   * holders, so a copy that might still save a pack is kept, whoever holds it. Stored copies stay:
   * repair supersedes them first. A holder that comes back afterwards holds copies the catalog
   * no longer knows of, which cost nothing but its disk.
   *
   * @return copies forgotten
   */
  int forgetGoneHolders() throws CatalogException {
    return shared.run(LEASE, clock.millis(), this::forgetGoneHolders).orElse(0);
  }

  private int forgetGoneHolders(SharedWork.Held held) throws CatalogException {
    long now = clock.millis();
    long expiredBefore = now - PlacementService.ORDER_LIFETIME.toMillis();
    List<HolderId> gone = new java.util.ArrayList<>();
    for (HolderRecord h : catalog.holders()) {
      if (now - Math.max(h.lastSeenMillis(), h.reachedMillis()) > forgetAfter.toMillis()) {
        gone.add(h.holderId());
      }
    }
    if (gone.isEmpty()) {
      return 0;
    }
    // One pass over all of them, from a random pack on (rows that must be kept never hide the rest).
    byte[] start = new byte[32];
    java.util.concurrent.ThreadLocalRandom.current().nextBytes(start);
    Map<HolderId, Integer> forgotten = new HashMap<>();
    for (Custody.Garbage g : catalog.custody().garbage(gone, expiredBefore, PER_ROUND,
        java.util.HexFormat.of().formatHex(start))) {
      held.check();
      boolean unneeded = g.kind() == Custody.Garbage.Kind.DOCUMENT ? documentCoveredWithout(g, now) : wholeWithout(g);
      if (unneeded) {
        catalog.custody().forget(g);
        forgotten.merge(g.holderId(), 1, Integer::sum);
      }
    }
    forgotten.forEach((holder, count) -> LOG.info("holder {} gone for over {} days: forgot {} of its copies that no "
        + "longer count", holder, forgetAfter.toDays(), count));
    int total = forgotten.values().stream().mapToInt(Integer::intValue).sum();
    metrics.copiesForgotten.add(total);
    return total;
  }
}
