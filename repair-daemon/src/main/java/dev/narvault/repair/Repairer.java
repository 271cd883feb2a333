package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Custody;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.catalog.RepairClaims;
import dev.narvault.core.catalog.TrashedCopies;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.core.coordinator.FragmentFiles;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.pack.FragmentCorruptException;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.FragmentRebuilder;
import dev.narvault.core.pack.FragmentReader;
import dev.narvault.core.backstop.BackstopFragments;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackId;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.HolderState;
import dev.narvault.repair.policy.PackHealth;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every pack at {@code k + m} counted fragments. Each round: find the packs that may be
 * degraded (a copy on an unhealthy holder, a copy not stored, and a slow sweep over all packs for
 * fragments that came to share a failure domain), compute their {@link PackHealth}, and first
 * <b>revive</b> what already exists: a superseded or unverified copy on a healthy holder, for an
 * index that has no counted copy, is audited on one block and counts again if it passes (a holder
 * that returns after its replacements left restores the pack this way). Then queue the packs below
 * {@code k + r} (or with a readable fragment that does not count), fewest first, and for each:
 * claim it, judge it again (another coordinator may have repaired it since the queue was read),
 * <b>ask how many fragments can be placed</b> before reading anything, <b>copy</b>
 * fragments that are readable (one fragment read, not k; every block verified) and decode only
 * the rest from k sources, place them with signed orders, and <b>commit what was placed</b>, even
 * if not all of it was. The claim is renewed between steps.
 */
public final class Repairer {
  private static final Logger LOG = LoggerFactory.getLogger(Repairer.class);
  /** A claim lasts this long and is renewed between steps; a worker that dies frees its packs when it runs out. */
  static final Duration CLAIM = Duration.ofMinutes(30);
  private static final int STRIPE_BYTES = 1 << 20;
  /** Packs checked per round by the sweep for domain changes, whatever their holders' state. */
  static final int SWEEP_PER_ROUND = 500;
  /**
   * How long holders keep what they delete ({@code holder --trash-for}, 7 days by default): trashed
   * copies older than this are forgotten. A holder with a shorter trash answers 404, which is harmless.
   */
  static final Duration HOLDER_TRASH = Duration.ofDays(7);

  /** What one round did. */
  public record Round(int checked, int queued, int repaired, int failed, long fragmentsRebuilt, long bytesWritten) {}

  private final Catalog catalog;
  private final Custody custody;
  private final RepairClaims claims;
  private final HolderClient holders;
  private final PlacementService placements;
  private final HolderRules rules;
  private final int threshold;
  private final Path workDir;
  private final Bandwidth bandwidth;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;
  private final ManifestCache manifests;
  private final Auditor auditor;
  private final DocumentRepairer documents;
  private final String owner;
  private final SharedWork shared;
  private final Map<String, Codec> codecs = new ConcurrentHashMap<>();
  private final ExecutorService reads = Executors.newVirtualThreadPerTaskExecutor();
  private String sweepAfter = "";
  private final Optional<ObjectSource> backstopStore;
  /** The store's backstop buckets, each opened once. */
  private final Map<String, ObjectSource> backstopBuckets = new ConcurrentHashMap<>();
  /** How often the bytes counted per holder are taken again, by one coordinator ({@link #rebalanceRound}). */
  static final java.time.Duration COUNTED_EVERY = java.time.Duration.ofHours(1);

  /**
   * @param threshold r: repair packs with fewer than k + r healthy fragments; negative: ⌈m/2⌉ per pack
   * @param maxBytesPerSecond cap on repair traffic (reads and writes), 0 = none
   * @param shared this coordinator's leases, under its stable claim owner (after a restart it takes
   *     its claims back at once): the rounds other coordinators on the catalog must not repeat
   */
  Repairer(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules, int threshold,
      Path workDir, long maxBytesPerSecond, ManifestCache manifests, Auditor auditor, CoordinatorMetrics metrics,
      InstantSource clock, SharedWork shared) throws IOException {
    this(catalog, holders, placements, rules, threshold, workDir, maxBytesPerSecond, manifests, auditor, metrics, clock,
        shared, Optional.empty());
  }

  /**
   * @param backstopStore the S3 store of packs' backstops ({@code migrate --backstop-bucket}): a
   *     pack with fewer than k readable fragments is rebuilt from its backstop, verified block by
   *     block; none: such a pack waits for its holders
   */
  Repairer(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules, int threshold,
      Path workDir, long maxBytesPerSecond, ManifestCache manifests, Auditor auditor, CoordinatorMetrics metrics,
      InstantSource clock, SharedWork shared, Optional<ObjectSource> backstopStore) throws IOException {
    this.backstopStore = backstopStore;
    this.catalog = catalog;
    this.custody = catalog.custody();
    this.claims = catalog.repairClaims();
    this.holders = holders;
    this.placements = placements;
    this.rules = rules;
    this.threshold = threshold;
    this.workDir = workDir;
    this.bandwidth = new Bandwidth(maxBytesPerSecond);
    this.manifests = manifests;
    this.auditor = auditor;
    this.metrics = metrics;
    this.clock = clock;
    this.shared = shared;
    this.owner = shared.owner();
    this.documents = new DocumentRepairer(catalog, holders, placements, rules, workDir, clock);
    sweepWorkDir(workDir);
  }

  /** Fragment files a previous run left (it died mid-repair) are deleted at start. */
  private static void sweepWorkDir(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (DirectoryStream<Path> left = Files.newDirectoryStream(dir, "{repair-,document-}*")) {
      for (Path p : left) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The holders as one round sees them. */
  private final class View implements PackHealth.Holders {
    final long now = clock.millis();
    final Map<HolderId, HolderRecord> byId;

    View() throws CatalogException {
      byId = catalog.holders().stream().collect(Collectors.toMap(HolderRecord::holderId, Function.identity()));
    }

    @Override
    public boolean healthy(HolderId holderId) {
      HolderRecord h = byId.get(holderId);
      return h != null && rules.healthy(h, now);
    }

    @Override
    public boolean live(HolderId holderId) {
      HolderRecord h = byId.get(holderId);
      return h != null && rules.live(h, now);
    }

    @Override
    public boolean excused(HolderId holderId) {
      HolderRecord h = byId.get(holderId);
      return h != null && rules.excused(h, now);
    }

    @Override
    public FailureDomain domain(HolderId holderId) {
      HolderRecord h = byId.get(holderId);
      return h == null ? FailureDomain.of(holderId, "", "") : PlacementService.domain(h);
    }

    List<HolderId> unhealthy() {
      return byId.values().stream().filter(h -> !rules.healthy(h, now)).map(HolderRecord::holderId).toList();
    }

    PackHealth health(PackId packId, int k, int m, List<FragmentPlacement> rows) {
      return PackHealth.of(packId, k, m, rows, this, placements.limits());
    }
  }

  /** The packs to repair now, most urgent first; revives what it can on the way; refreshes the gauges. */
  public List<PackHealth> queue() throws CatalogException {
    View view = new View();
    Map<HolderState, Long> byState = new EnumMap<>(HolderState.class);
    for (HolderRecord h : view.byId.values()) {
      byState.merge(rules.state(h, view.now), 1L, Long::sum);
    }
    Set<PackId> candidates = new java.util.TreeSet<>(custody.packsToCheck(view.unhealthy()));
    List<PackId> sweep = custody.packIds(sweepAfter, SWEEP_PER_ROUND);
    if (sweep.isEmpty() && !sweepAfter.isEmpty()) {
      sweep = custody.packIds("", SWEEP_PER_ROUND); // past the last pack: wrap around now, not a round later
    }
    sweepAfter = sweep.isEmpty() ? "" : sweep.getLast().hex();
    candidates.addAll(sweep);
    List<PackHealth> checked = new ArrayList<>();
    for (PackId packId : candidates) {
      var shape = custody.shape(packId);
      if (shape.isEmpty()) {
        continue;
      }
      int k = shape.get().dataFragmentCount();
      int m = shape.get().parityFragmentCount();
      List<FragmentPlacement> rows = catalog.placements(packId);
      PackHealth health = view.health(packId, k, m, rows);
      if (!health.whole() && mayRevive(health, rows, view) && claimNow(packId)) {
        // Under the pack's claim, like a repair: no other coordinator repairs, revives or
        // collects this pack's copies meanwhile.
        try {
          rows = catalog.placements(packId);
          health = view.health(packId, k, m, rows);
          if (revive(health, rows, view) > 0) {
            health = view.health(packId, k, m, catalog.placements(packId));
          }
        } finally {
          claims.release(packId, owner);
        }
      }
      checked.add(health);
    }
    List<PackHealth> queue = PackHealth.queue(checked, threshold);
    metrics.holdersByState(byState);
    long packCount = custody.packCount();
    metrics.packsTotal.set(packCount);
    // Packs by fragments missing: the checked ones as found, every other pack whole.
    int widest = checked.stream().mapToInt(PackHealth::totalFragmentCount).max().orElse(0);
    long[] byMissing = new long[widest + 1];
    long counted = 0;
    for (PackHealth p : checked) {
      int missing = p.totalFragmentCount() - p.healthy().cardinality();
      if (missing > 0) {
        byMissing[missing]++;
        counted++;
      }
    }
    if (byMissing.length > 0) {
      byMissing[0] = Math.max(0, packCount - counted);
    }
    metrics.packsByMissing(byMissing);
    metrics.packsDegraded.set(checked.stream().filter(PackHealth::degraded).count());
    metrics.fragmentsExcused.set(checked.stream().mapToLong(p -> p.excused().cardinality()).sum());
    metrics.repairQueue.set(queue.size());
    metrics.packsUnrecoverableNow.set(checked.stream().filter(p -> !p.recoverable()).count());
    return queue;
  }

  private boolean claimNow(PackId packId) throws CatalogException {
    long now = clock.millis();
    return claims.claim(packId, owner, now, now + CLAIM.toMillis());
  }

  /** Whether some index without a counted copy has a superseded or unverified copy on a healthy holder. */
  private static boolean mayRevive(PackHealth health, List<FragmentPlacement> rows, View view) {
    return rows.stream().anyMatch(p -> (p.state() == FragmentState.SUPERSEDED || p.state() == FragmentState.UNVERIFIED)
        && !health.healthy().get(p.fragmentIndex()) && view.healthy(p.holderId()));
  }

  /**
   * For each index without a counted copy: a superseded or unverified copy on a healthy holder
   * whose domain the pack can admit is audited on one block, and revived if it passes. Called
   * with the pack claimed.
   */
  private int revive(PackHealth health, List<FragmentPlacement> rows, View view) throws CatalogException {
    int revived = 0;
    BitSet done = (BitSet) health.healthy().clone();
    var tally = placements.limits().forCode(health.parityFragmentCount()).tally();
    for (FragmentPlacement p : rows) {
      if (p.stored() && health.healthy().get(p.fragmentIndex()) && view.healthy(p.holderId())) {
        tally.add(view.domain(p.holderId()));
      }
    }
    for (FragmentPlacement p : rows) {
      boolean candidate = p.state() == FragmentState.SUPERSEDED || p.state() == FragmentState.UNVERIFIED || p.stored();
      if (!candidate || done.get(p.fragmentIndex()) || !view.healthy(p.holderId())
          || !tally.admits(view.domain(p.holderId()))) {
        continue;
      }
      if (p.stored()) {
        // Stored and on a healthy holder yet not counted: beyond a domain limit. Moving it is repair's job.
        continue;
      }
      HolderRecord h = view.byId.get(p.holderId());
      if (auditor.audit(h, p) == Auditor.Outcome.PASSED && custody.revive(p.packId(), p.fragmentIndex(), p.holderId())) {
        done.set(p.fragmentIndex());
        tally.add(view.domain(p.holderId()));
        revived++;
        metrics.copiesRevived.increment();
        LOG.info("pack {}: fragment {} on holder {} ({}) counts again: it passed an audit", p.packId().shortForm(),
            p.fragmentIndex(), p.holderId(), p.state());
      }
    }
    return revived;
  }

  /** One round: repairs every queued pack it can claim. */
  public Round repairOnce() throws CatalogException {
    catalog.trashed().forgetOlderThan(clock.millis() - HOLDER_TRASH.toMillis());
    List<PackHealth> queue = queue();
    int repaired = 0;
    int failed = 0;
    long rebuilt = 0;
    long written = 0;
    for (PackHealth queued : queue) {
      if (Thread.currentThread().isInterrupted()) {
        break;
      }
      if (!claimNow(queued.packId())) {
        continue; // another coordinator is at it
      }
      long t0 = System.nanoTime();
      try {
        // Judged again under the claim: the queue was read before it, and another coordinator
        // may have repaired the pack and let go of it since. Repairing from the old view would
        // place fragments the pack already has again.
        Optional<PackHealth> now = stillQueued(queued.packId());
        if (now.isEmpty()) {
          continue;
        }
        PackHealth pack = now.get();
        if (!pack.recoverable() && restoreFromTrash(pack) > 0) {
          continue; // audited, revived and used from the next round on
        }
        Optional<FragmentReader> backstop = Optional.empty();
        if (!pack.recoverable()) {
          // Fewer than k good copies: the backstop is read after the holders' copies, whatever
          // corrupt copies the catalog still lists (their holders may have quarantined them).
          backstop = backstopOf(pack.packId());
          if (backstop.isEmpty() && !withPartlyRottenCopies(pack)) {
            LOG.warn("pack {}: only {} of {} fragments readable now ({} needed); waiting for holders to return",
                pack.packId().shortForm(), pack.readable().cardinality(), pack.totalFragmentCount(),
                pack.dataFragmentCount());
            continue;
          }
          if (backstop.isPresent()) {
            LOG.warn("pack {}: only {} of {} fragments readable now ({} needed); rebuilding with its backstop",
                pack.packId().shortForm(), pack.readable().cardinality(), pack.totalFragmentCount(),
                pack.dataFragmentCount());
          }
        }
        Repaired done = repair(pack, backstop);
        rebuilt += done.fragments();
        written += done.bytes();
        if (done.fragments() > 0) {
          repaired++;
          metrics.packsRepaired.increment();
        }
      } catch (IOException | RuntimeException e) {
        failed++;
        metrics.repairFailures.increment();
        LOG.warn("pack {}: repair failed, will retry: {}", queued.packId().shortForm(), e.getMessage());
      } finally {
        claims.release(queued.packId(), owner);
        metrics.repairMillis.add((System.nanoTime() - t0) / 1_000_000);
      }
    }
    if (!queue.isEmpty()) {
      queue();
    }
    return new Round(queue.size(), queue.size(), repaired, failed, rebuilt, written);
  }

  /** The pack's health read now, if it still belongs in the repair queue. */
  private Optional<PackHealth> stillQueued(PackId packId) throws CatalogException {
    var shape = custody.shape(packId);
    if (shape.isEmpty()) {
      return Optional.empty();
    }
    PackHealth health = new View().health(packId, shape.get().dataFragmentCount(), shape.get().parityFragmentCount(),
        catalog.placements(packId));
    return PackHealth.queue(List.of(health), threshold).stream().findFirst();
  }

  /**
   * The last resort for a pack with fewer than k readable fragments: copies garbage collection
   * deleted within {@link #HOLDER_TRASH} are asked back from their holders' trash (signed
   * {@code restore} orders; each holder verifies the bytes against the id first), for the indexes
   * with no readable copy, from holders live now. A restored copy is recorded unverified: it counts
   * once it passes an audit, and is a repair source at once. Returns how many came back.
   */
  int restoreFromTrash(PackHealth pack) throws CatalogException {
    long now = clock.millis();
    int restored = 0;
    View view = new View();
    // One copy back per index is enough: a second restore of the same index is traffic for nothing.
    BitSet back = (BitSet) pack.readable().clone();
    for (TrashedCopies.Trashed t : catalog.trashed().of(pack.packId(), now - HOLDER_TRASH.toMillis())) {
      HolderRecord h = view.byId.get(t.holderId());
      if (back.get(t.fragmentIndex()) || h == null || !rules.live(h, now) || h.disqualified()) {
        continue;
      }
      try {
        boolean restoredNow = holders.restore(URI.create(dev.narvault.core.holder.HolderEndpoints.pinned(h.endpoint(),
            h.seenAddress())), new FragmentId(t.fragmentId()), placements.restoreOrder(t.fragmentId(), t.holderId()));
        catalog.trashed().settle(t, restoredNow);
        if (restoredNow) {
          back.set(t.fragmentIndex());
          restored++;
          metrics.copiesRestored.increment();
          LOG.warn("pack {}: fragment {} restored from the trash of holder {}: the pack had {} of {} readable",
              pack.packId().shortForm(), t.fragmentIndex(), t.holderId(), pack.readable().cardinality(),
              pack.dataFragmentCount());
        }
      } catch (IOException e) {
        // Unreachable now, or it refused (the copy no longer verified: it is gone): asked again
        // next round while the trash may still hold it; a 409 means it is gone for good.
        if (e instanceof HolderRefusedException refused && refused.status() == 409) {
          catalog.trashed().settle(t, false);
        }
        LOG.info("pack {}: could not restore fragment {} from holder {}: {}", pack.packId().shortForm(),
            t.fragmentIndex(), t.holderId(), e.getMessage());
      }
    }
    return restored;
  }

  /** The catalog repair works on. */
  Catalog catalog() {
    return catalog;
  }

  /** Leases of the rounds that must not run twice: documents, rebalancing, counting the bytes on holders. */
  static final String DOCUMENTS = "documents";
  static final String REBALANCE = "rebalance";
  static final String COUNTED_BYTES = "counted-bytes";

  /** Keeps every signed document at its number of copies now (see {@link DocumentRepairer}), unless another coordinator is at it. */
  public int repairDocuments() throws CatalogException {
    return repairDocuments(clock.millis());
  }

  /**
   * As {@link #repairDocuments()}, once per interval among the coordinators on the catalog (lease
   * {@value #DOCUMENTS}): the next round is due at {@code nextDueMillis}.
   */
  int repairDocuments(long nextDueMillis) throws CatalogException {
    return shared.run(DOCUMENTS, nextDueMillis, documents::repairDocuments).orElse(0);
  }

  /** A holder is rebalanced when the catalog counts more than this share of its capacity on it. */
  static final double NEARLY_FULL = 0.90;

  /**
   * Moves fragments off live holders on which the catalog counts more than {@value #NEARLY_FULL}
   * of their capacity (a volunteer lowered its capacity; what a holder reports about its own use
   * is not believed, so a stranger cannot make repair move fragments by reporting itself full):
   * up to {@code perHolder} fragments each, each
   * copied (verified) to a holder chosen under the placement rules and committed like a repair,
   * which leaves the old copy superseded for garbage collection.
   *
   * @return fragments moved
   */
  public int rebalanceOnce(int perHolder) throws CatalogException {
    shared.run(COUNTED_BYTES, clock.millis(), this::countBytes);
    placements.countedBytes(catalog.countedBytes().read());
    return shared.run(REBALANCE, clock.millis(), held -> rebalance(perHolder, held)).orElse(0);
  }

  /**
   * As {@link #rebalanceOnce}, for the coordinator's loop, once per interval among the
   * coordinators on the catalog (lease {@value #REBALANCE}; the next is due at
   * {@code nextDueMillis}). The bytes counted per holder are one aggregate over every fragment
   * row, which at the scale of the cache (10^8 rows and more) takes minutes, so one coordinator
   * takes them once per {@link #COUNTED_EVERY} (lease {@value #COUNTED_BYTES}) and saves them in
   * the catalog, and every coordinator's placement reads them from there each round. Nothing
   * urgent hangs on them: a holder refuses what does not fit, and placement's view of fullness
   * may lag.
   */
  public int rebalanceRound(int perHolder, long nextDueMillis) throws CatalogException {
    shared.run(COUNTED_BYTES, clock.millis() + COUNTED_EVERY.toMillis(), this::countBytes);
    placements.countedBytes(catalog.countedBytes().read());
    return shared.run(REBALANCE, nextDueMillis, held -> rebalance(perHolder, held)).orElse(0);
  }

  /** Takes the bytes the catalog counts on each holder and saves them for every coordinator; returns how many holders. */
  private int countBytes(SharedWork.Held held) throws CatalogException {
    long now = clock.millis();
    Map<HolderId, Long> counted = custody.countedBytesByHolder();
    held.check(); // a count taken while another coordinator took the lease over is not saved over its own
    catalog.countedBytes().save(counted, now);
    return counted.size();
  }

  private int rebalance(int perHolder, SharedWork.Held held) throws CatalogException {
    View view = new View();
    Map<HolderId, Long> counted = catalog.countedBytes().read();
    int moved = 0;
    for (HolderRecord h : view.byId.values()) {
      long used = counted.getOrDefault(h.holderId(), 0L);
      if (!rules.live(h, view.now) || h.capacityBytes() <= 0 || used <= NEARLY_FULL * h.capacityBytes()) {
        continue;
      }
      for (int i = 0; i < perHolder; i++) {
        byte[] start = new byte[32];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(start);
        var pick = custody.storedFragmentNear(h.holderId(), java.util.HexFormat.of().formatHex(start));
        held.check();
        if (pick.isEmpty() || !claimNow(pick.get().packId())) {
          break;
        }
        FragmentPlacement f = pick.get();
        try {
          List<FragmentPlacement> rows = catalog.placements(f.packId());
          if (rows.stream().noneMatch(p -> p.stored() && p.holderId().equals(h.holderId())
              && p.fragmentIndex() == f.fragmentIndex())) {
            continue; // moved (or lost) since it was picked, before the claim
          }
          var shape = custody.shape(f.packId());
          if (shape.isEmpty()) {
            continue; // rewritten (retired) since it was picked
          }
          // The full holder's copy does not count: repair copies it elsewhere, like a leaver's.
          PackHealth.Holders notThatOne = new PackHealth.Holders() {
            @Override
            public boolean healthy(HolderId holderId) {
              return !holderId.equals(h.holderId()) && view.healthy(holderId);
            }

            @Override
            public boolean live(HolderId holderId) {
              return view.live(holderId);
            }

            @Override
            public FailureDomain domain(HolderId holderId) {
              return view.domain(holderId);
            }
          };
          PackHealth health = PackHealth.of(f.packId(), shape.get().dataFragmentCount(),
              shape.get().parityFragmentCount(), rows, notThatOne, placements.limits());
          moved += repair(health, Optional.empty()).fragments();
          metrics.packsRepaired.increment();
        } catch (IOException | RuntimeException e) {
          LOG.warn("holder {} is nearly full; moving fragment {} failed: {}", h.holderId(), f.fragmentId(),
              e.getMessage());
          break;
        } finally {
          claims.release(f.packId(), owner);
        }
      }
    }
    return moved;
  }

  /** What repairing one pack did. */
  private record Repaired(int fragments, long bytes) {}

  /**
   * Repairs one claimed pack: as many of its missing fragments as can be placed now, copied where
   * readable and decoded otherwise; commits what was placed.
   */
  private Repaired repair(PackHealth health, Optional<FragmentReader> backstop) throws IOException {
    // The claim is renewed between steps and, for a copy or decode slower than a quarter of its
    // lifetime (a big pack under a low --max-repair-speed), from the side meanwhile: another
    // coordinator never takes a pack this one is still working on. Stopped by a flag, not an
    // interrupt, which would close a catalog connection in the middle of its I/O.
    java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
    Thread renewal = Thread.ofVirtual().name("claim-renewal").start(() -> {
      while (true) {
        java.util.concurrent.locks.LockSupport.parkNanos(CLAIM.dividedBy(4).toNanos());
        if (done.get()) {
          return;
        }
        try {
          if (!claims.renewClaim(health.packId(), owner, clock.millis() + CLAIM.toMillis())) {
            return; // lost or released: the step after the work notices
          }
        } catch (CatalogException e) {
          LOG.warn("pack {}: could not renew the repair claim, will try again: {}", health.packId().shortForm(),
              e.getMessage());
        }
      }
    });
    try {
      return repairClaimed(health, backstop);
    } finally {
      done.set(true);
      java.util.concurrent.locks.LockSupport.unpark(renewal);
    }
  }

  /**
   * The data fragments of {@code packId} from its backstop, when it has one and a store to read it
   * through: unverified, like a holder's ({@link FragmentRebuilder} checks every block).
   */
  private Optional<FragmentReader> backstopOf(PackId packId) throws IOException {
    if (backstopStore.isEmpty()) {
      return Optional.empty();
    }
    Optional<Backstops.Backstop> backstop = catalog.backstops().of(packId);
    if (backstop.isEmpty()) {
      return Optional.empty();
    }
    ObjectSource bucket = backstopBuckets.get(backstop.get().bucket());
    if (bucket == null) {
      bucket = backstopStore.get().inBucket(backstop.get().bucket());
      backstopBuckets.put(backstop.get().bucket(), bucket);
    }
    return Optional.of(new BackstopFragments(bucket, backstop.get(), manifests.get(packId).layout()));
  }

  /**
   * @param backstop the pack's backstop, for a pack with fewer than k readable fragments: its data
   *     fragments serve as sources where no holder has a copy, and where a holder's copy fails
   *     (see {@link RepairSources})
   */
  private Repaired repairClaimed(PackHealth health, Optional<FragmentReader> backstop) throws IOException {
    PackId packId = health.packId();
    Manifest manifest = manifests.get(packId);
    View view = new View();
    List<FragmentPlacement> rows = catalog.placements(packId);
    int m = manifest.parityFragmentCount();
    // No holder with any copy of the pack (even superseded, corrupt or offline) gets a new one, and
    // every live copy's domains count towards the pack's limits.
    Set<HolderId> excluded = rows.stream().map(FragmentPlacement::holderId).collect(Collectors.toSet());
    // Excused copies (away by their holders' word) count towards the limits too: they are counted.
    Set<HolderId> keepApart = rows.stream()
        .filter(p -> PackHealth.readableState(p) && view.live(p.holderId()) && !view.byId.get(p.holderId()).exiting()
            && (!p.stored() || health.healthy().get(p.fragmentIndex()))
            || p.stored() && health.excused().get(p.fragmentIndex()) && view.excused(p.holderId()))
        .map(FragmentPlacement::holderId).collect(Collectors.toSet());
    List<Integer> missing = health.missing();
    long fragmentBytes = manifest.layout().fragmentSize();
    Set<HolderId> notAgain = new HashSet<>(excluded);
    notAgain.removeAll(keepApart);
    int room = placements.placeableCount(m, missing.size(), fragmentBytes, keepApart, notAgain);
    if (room == 0) {
      throw new IOException("no holder can take a fragment of this pack under the placement rules now ("
          + missing.size() + " missing); nothing read");
    }
    List<Integer> targets = missing.subList(0, Math.min(room, missing.size()));
    Map<Integer, FragmentPlacement> readable = sources(rows, view);
    List<Integer> copies = targets.stream().filter(readable::containsKey).toList();
    List<Integer> decodes = targets.stream().filter(i -> !readable.containsKey(i)).toList();
    // What decoding may read: readable copies, then copies with a bad block (their good blocks),
    // then (for a pack below k) the backstop's data fragments.
    Map<Integer, FragmentPlacement> sources = new HashMap<>(partlyRotten(rows, view, readable));
    sources.putAll(readable);
    Codec codec = codecs.computeIfAbsent(manifest.dataFragmentCount() + "+" + m,
        c -> Codecs.create(manifest.dataFragmentCount(), m));
    RepairSources reader = new RepairSources(manifest, sources, backstop, (p, offset, length) -> {
      HolderRecord on = view.byId.get(p.holderId());
      String endpoint = on == null ? p.endpoint() : dev.narvault.core.holder.HolderEndpoints.pinned(p.endpoint(), on.seenAddress());
      return holders.read(URI.create(endpoint), manifest.fragments().get(p.fragmentIndex()).id(), offset, length);
    });
    FragmentRebuilder rebuilder = new FragmentRebuilder(manifest, codec, (index, offset, length) -> {
      bandwidth.take(length);
      byte[] bytes = reader.read(index, offset, length);
      metrics.repairBytesRead.add(bytes.length);
      return bytes;
    }, reads, STRIPE_BYTES);
    List<FragmentPlacer.Fragment> toPlace = new ArrayList<>();
    long bytes = 0;
    try (FragmentFiles copied = new FragmentFiles(workDir, "repair-" + packId.shortForm() + "-c", copies.size());
        FragmentFiles decoded = new FragmentFiles(workDir, "repair-" + packId.shortForm() + "-d", decodes.size())) {
      List<Integer> ready = new ArrayList<>();
      List<Path> readyFiles = new ArrayList<>();
      for (int i = 0; i < copies.size(); i++) {
        try {
          rebuilder.copy(List.of(copies.get(i)), List.of(copied.outputs().get(i)));
          ready.add(copies.get(i));
          readyFiles.add(copied.files().get(i));
        } catch (IOException e) {
          LOG.info("pack {}: copying fragment {} failed ({}); decoded next round", packId.shortForm(), copies.get(i),
              e.getMessage());
        }
      }
      if (!decodes.isEmpty()) {
        BitSet usable = new BitSet();
        sources.keySet().forEach(usable::set);
        if (backstop.isPresent()) {
          usable.set(0, manifest.dataFragmentCount());
        }
        usable.andNot(rebuilder.lostSources());
        if (usable.cardinality() >= manifest.dataFragmentCount()) {
          try {
            rebuilder.rebuild(decodes, usable, decoded.outputs());
            ready.addAll(decodes);
            readyFiles.addAll(decoded.files());
          } catch (IOException e) {
            LOG.warn("pack {}: decoding fragments {} failed: {}", packId.shortForm(), decodes, e.getMessage());
          }
        }
      }
      recordFailedSources(packId, rebuilder, reader);
      copied.finish();
      decoded.finish();
      if (ready.isEmpty()) {
        throw new IOException("no fragment could be copied or decoded");
      }
      renew(packId);
      for (int i = 0; i < ready.size(); i++) {
        toPlace.add(new FragmentPlacer.Fragment(ready.get(i), manifest.fragments().get(ready.get(i)).id(),
            readyFiles.get(i)));
        bytes += Files.size(readyFiles.get(i));
      }
      bandwidth.take(bytes);
      FragmentPlacer.Outcome outcome = new FragmentPlacer(new ApartFrom(placements, notAgain), holders)
          .placeSome(packId, m, manifest.blockSize(), toPlace, keepApart);
      if (outcome.placed().isEmpty()) {
        throw new IOException("no rebuilt fragment could be placed: " + outcome.lastFailure());
      }
      renew(packId);
      List<Custody.Rebuilt> rebuilt = outcome.placed().stream()
          .map(p -> new Custody.Rebuilt(p.index(), manifest.fragments().get(p.index()).id().hex(), p.holderId()))
          .toList();
      custody.commitRepair(packId, owner, rebuilt);
      long placedBytes = (long) rebuilt.size() * fragmentBytes;
      metrics.fragmentsRebuilt.add(rebuilt.size());
      metrics.repairBytesWritten.add(placedBytes);
      LOG.info("pack {}: placed fragments {} ({} copied, {} decoded) onto {}{}", packId.shortForm(),
          rebuilt.stream().map(Custody.Rebuilt::fragmentIndex).toList(),
          rebuilt.stream().filter(r -> copies.contains(r.fragmentIndex())).count(),
          rebuilt.stream().filter(r -> decodes.contains(r.fragmentIndex())).count(),
          outcome.placed().stream().map(FragmentPlacer.Placed::endpoint).toList(),
          rebuilt.size() < missing.size() ? "; " + (missing.size() - rebuilt.size()) + " still missing" : "");
      return new Repaired(rebuilt.size(), placedBytes);
    }
  }

  private void renew(PackId packId) throws IOException {
    if (!claims.renewClaim(packId, owner, clock.millis() + CLAIM.toMillis())) {
      throw new IOException("lost the claim on pack " + packId + "; another worker has it");
    }
  }

  /**
   * One readable copy per index on a live holder: a stored copy before a superseded or unverified
   * one, a healthy holder before one that is leaving or disqualified.
   */
  private Map<Integer, FragmentPlacement> sources(List<FragmentPlacement> rows, View view) {
    Map<Integer, FragmentPlacement> sources = new HashMap<>();
    for (FragmentPlacement p : rows) {
      if (!PackHealth.readableState(p) || !view.live(p.holderId())) {
        continue;
      }
      FragmentPlacement before = sources.get(p.fragmentIndex());
      if (before == null || rank(p, view) > rank(before, view)) {
        sources.put(p.fragmentIndex(), p);
      }
    }
    return sources;
  }

  /**
   * Whether copies found corrupt (a bad block somewhere), on live holders, make up the k indexes
   * a pack lacks: their other blocks are verified like any and may still rebuild it. Asked only of
   * packs that cannot be rebuilt otherwise.
   */
  private boolean withPartlyRottenCopies(PackHealth pack) throws CatalogException {
    View view = new View();
    BitSet indexes = (BitSet) pack.readable().clone();
    for (FragmentPlacement p : catalog.placements(pack.packId())) {
      if (p.state() == FragmentState.CORRUPT && view.live(p.holderId())) {
        indexes.set(p.fragmentIndex());
      }
    }
    return indexes.cardinality() >= pack.dataFragmentCount();
  }

  /**
   * Copies found corrupt on live holders, one per index that has no readable copy: sources of
   * last resort for decoding (a copy with one bad block has good ones), never copied whole.
   */
  private static Map<Integer, FragmentPlacement> partlyRotten(List<FragmentPlacement> rows, View view,
      Map<Integer, FragmentPlacement> sources) {
    Map<Integer, FragmentPlacement> partial = new HashMap<>();
    for (FragmentPlacement p : rows) {
      if (p.state() == FragmentState.CORRUPT && view.live(p.holderId())
          && !sources.containsKey(p.fragmentIndex())) {
        partial.putIfAbsent(p.fragmentIndex(), p);
      }
    }
    return partial;
  }

  private static int rank(FragmentPlacement p, View view) {
    return (p.stored() ? 2 : 0) + (view.healthy(p.holderId()) ? 1 : 0);
  }

  /**
   * Copies whose bytes did not match the manifest no longer count, whatever the repair's outcome.
   * A backstop that failed is only logged: it has no copy to mark, and the decode may have read
   * around it.
   */
  private void recordFailedSources(PackId packId, FragmentRebuilder rebuilder, RepairSources reader)
      throws CatalogException {
    Map<Integer, IOException> holderFailures = reader.holderFailures();
    BitSet failed = rebuilder.failedSources();
    for (int i = failed.nextSetBit(0); i >= 0; i = failed.nextSetBit(i + 1)) {
      if (reader.backstopHas(i)) {
        LOG.warn("pack {}: source fragment {} from its backstop failed: {}", packId.shortForm(), i,
            rebuilder.failure(i).getMessage());
      } else {
        holderFailures.putIfAbsent(i, rebuilder.failure(i));
      }
    }
    for (Map.Entry<Integer, IOException> f : holderFailures.entrySet()) {
      FragmentPlacement p = reader.copy(f.getKey());
      if (p != null) {
        recordFailedCopy(packId, p, f.getValue());
      }
    }
  }

  private void recordFailedCopy(PackId packId, FragmentPlacement p, IOException why) throws CatalogException {
    int i = p.fragmentIndex();
    if (why instanceof FragmentCorruptException
        || why instanceof HolderRefusedException refused && refused.status() == 404) {
      LOG.warn("pack {}: fragment {} on holder {} is corrupt or gone: {}", packId.shortForm(), i, p.holderId(),
          why.getMessage());
      custody.markCorrupt(packId, i, p.holderId());
    } else if (why instanceof HolderRefusedException refused && refused.status() == 503) {
      // Busy, or its monthly upload quota spent: it answered, and says so; read elsewhere, no mark.
      LOG.info("pack {}: source fragment {} on holder {} not served now: {}", packId.shortForm(), i, p.holderId(),
          why.getMessage());
    } else {
      LOG.info("pack {}: source fragment {} on holder {} failed: {}", packId.shortForm(), i, p.holderId(),
          why.getMessage());
      catalog.registry().recordContact(p.holderId(), false, clock.millis());
    }
  }

  /**
   * Repair's placements: every holder that has any copy of the pack and does not count towards
   * its domains (superseded elsewhere, corrupt, offline) is excluded, so a pack never has two rows
   * on one holder.
   */
  private record ApartFrom(PlacementService placements, Set<HolderId> excluded) implements PlacementAuthority {
    @Override
    public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
        List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
        throws IOException {
      Set<HolderId> notAgain = new HashSet<>(failedOn);
      notAgain.addAll(excluded);
      notAgain.removeAll(placedOn);
      return placements.place(packId, parityFragmentCount, blockSize, wanted, placedOn, notAgain);
    }
  }
}
