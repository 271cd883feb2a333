package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Custody;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.coordinator.FragmentFiles;
import dev.narvault.core.coordinator.FragmentPlacer;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.pack.FragmentCorruptException;
import dev.narvault.core.pack.FragmentRebuilder;
import dev.narvault.core.pack.Manifest;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.PackHealth;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps every pack at {@code k + m} healthy fragments. Each round: find the packs that may be
 * degraded (fragments on unhealthy holders, or not stored), compute their {@link PackHealth},
 * queue those below {@code k + r} fewest-healthy first, and for each: claim it in the catalog,
 * read any k readable fragments (every block verified), rebuild the missing fragments in stripes
 * into files, place them under the placement rules with signed orders, and commit in one catalog
 * transaction, which also marks the copies they replace superseded (garbage collection deletes
 * them). A copy that proves corrupt while being read is marked so at once.
 */
public final class Repairer {
  private static final Logger LOG = LoggerFactory.getLogger(Repairer.class);
  /** A claim lasts this long; a worker that dies frees its packs when it runs out. */
  static final Duration CLAIM = Duration.ofMinutes(30);
  private static final int STRIPE_BYTES = 1 << 20;

  /** What one round did. */
  public record Round(int checked, int queued, int repaired, int failed, long fragmentsRebuilt, long bytesWritten) {}

  private final Catalog catalog;
  private final Custody custody;
  private final HolderClient holders;
  private final PlacementService placements;
  private final HolderRules rules;
  private final int threshold;
  private final Path workDir;
  private final Bandwidth bandwidth;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;
  private final ManifestCache manifests;
  private final String owner = "repair-" + UUID.randomUUID();
  private final Map<String, Codec> codecs = new ConcurrentHashMap<>();
  private final ExecutorService reads = Executors.newVirtualThreadPerTaskExecutor();

  /**
   * @param threshold r: repair packs with fewer than k + r healthy fragments; negative: ⌈m/2⌉ per pack
   * @param maxBytesPerSecond cap on repair traffic (reads and writes), 0 = none
   */
  public Repairer(Catalog catalog, HolderClient holders, PlacementService placements, HolderRules rules,
      int threshold, Path workDir, long maxBytesPerSecond, ManifestCache manifests, CoordinatorMetrics metrics,
      InstantSource clock) {
    this.catalog = catalog;
    this.custody = catalog.custody();
    this.holders = holders;
    this.placements = placements;
    this.rules = rules;
    this.threshold = threshold;
    this.workDir = workDir;
    this.bandwidth = new Bandwidth(maxBytesPerSecond);
    this.manifests = manifests;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** The packs to repair now, most urgent first; also refreshes the health gauges. */
  public List<PackHealth> queue() throws CatalogException {
    long now = clock.millis();
    List<HolderRecord> all = catalog.holders();
    Set<String> healthyHolders = new HashSet<>();
    Set<String> liveHolders = new HashSet<>();
    List<String> unhealthy = new ArrayList<>();
    Map<String, Long> byState = new HashMap<>();
    for (HolderRecord h : all) {
      byState.merge(rules.state(h, now), 1L, Long::sum);
      if (rules.healthy(h, now)) {
        healthyHolders.add(h.holderId());
      } else {
        unhealthy.add(h.holderId());
      }
      if (rules.live(h, now)) {
        liveHolders.add(h.holderId());
      }
    }
    List<PackHealth> checked = new ArrayList<>();
    for (String packId : custody.packsToCheck(unhealthy)) {
      var shape = custody.shape(packId);
      if (shape.isEmpty()) {
        continue;
      }
      checked.add(PackHealth.of(packId, shape.get().dataFragmentCount(), shape.get().parityFragmentCount(),
          catalog.placements(packId), healthyHolders::contains, liveHolders::contains));
    }
    List<PackHealth> queue = PackHealth.queue(checked, threshold);
    metrics.holdersByState(byState);
    metrics.packsTotal.set(custody.packCount());
    metrics.packsDegraded.set(checked.stream().filter(PackHealth::degraded).count());
    metrics.repairQueue.set(queue.size());
    metrics.packsUnrecoverableNow.set(checked.stream().filter(p -> !p.recoverable()).count());
    return queue;
  }

  /** One round: repairs every queued pack it can claim. */
  public Round repairOnce() throws CatalogException {
    List<PackHealth> queue = queue();
    int repaired = 0;
    int failed = 0;
    long rebuilt = 0;
    long written = 0;
    for (PackHealth pack : queue) {
      if (Thread.currentThread().isInterrupted()) {
        break;
      }
      if (!pack.recoverable()) {
        LOG.warn("pack {}: only {} of {} fragments readable now ({} needed); waiting for holders to return",
            abbreviate(pack.packId()), pack.readable().cardinality(), pack.totalFragmentCount(),
            pack.dataFragmentCount());
        continue;
      }
      long now = clock.millis();
      if (!custody.claim(pack.packId(), owner, now, now + CLAIM.toMillis())) {
        continue;
      }
      long t0 = System.nanoTime();
      try {
        Repaired done = repair(pack);
        rebuilt += done.fragments();
        written += done.bytes();
        repaired++;
        metrics.packsRepaired.increment();
      } catch (IOException | RuntimeException e) {
        failed++;
        metrics.repairFailures.increment();
        LOG.warn("pack {}: repair failed, will retry: {}", abbreviate(pack.packId()), e.getMessage());
        custody.release(pack.packId(), owner);
      } finally {
        metrics.repairMillis.add((System.nanoTime() - t0) / 1_000_000);
      }
    }
    if (!queue.isEmpty()) {
      queue();
    }
    return new Round(queue.size(), queue.size(), repaired, failed, rebuilt, written);
  }

  /**
   * Keeps {@link DocumentPlacer#COPIES} healthy copies of every signed document (manifests,
   * aliases) on holders: documents with a copy on an unhealthy holder get new copies, from the
   * catalog's text, on other holders. Returns how many copies were placed.
   */
  public int repairDocuments() throws CatalogException {
    long now = clock.millis();
    List<HolderRecord> all = catalog.holders();
    Set<String> healthy = new HashSet<>();
    List<String> unhealthy = new ArrayList<>();
    for (HolderRecord h : all) {
      if (rules.healthy(h, now)) {
        healthy.add(h.holderId());
      } else {
        unhealthy.add(h.holderId());
      }
    }
    int placed = 0;
    DocumentPlacer documents = new DocumentPlacer(new FragmentPlacer(placements, holders), workDir);
    Set<String> leaving = new HashSet<>();
    for (HolderRecord h : all) {
      if (rules.live(h, now) && !rules.healthy(h, now)) {
        leaving.add(h.holderId());
      }
    }
    for (Custody.Document d : custody.documentsOn(unhealthy)) {
      long good = d.holders().stream().filter(healthy::contains).count();
      if (good >= DocumentPlacer.COPIES) {
        // Enough copies elsewhere: those on leaving or suspect holders can go.
        for (String h : d.holders()) {
          if (leaving.contains(h)) {
            custody.supersedeDocumentCopy(d.docId(), h);
          }
        }
        continue;
      }
      try {
        byte[] body = custody.documentBody(d.docId()).orElseThrow(() -> new IOException("no text for document "
            + d.docId())).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var copies = documents.place(body, (int) (DocumentPlacer.COPIES - good), Set.copyOf(d.holders()));
        custody.addDocumentCopies(d.docId(), copies.holders());
        placed += copies.holders().size();
        if (good + copies.holders().size() >= DocumentPlacer.COPIES) {
          for (String h : d.holders()) {
            if (leaving.contains(h)) {
              custody.supersedeDocumentCopy(d.docId(), h);
            }
          }
        }
      } catch (IOException e) {
        LOG.warn("document {} of pack {}: could not place new copies: {}", d.docId(), abbreviate(d.packId()),
            e.getMessage());
      }
    }
    return placed;
  }

  /** A holder is rebalanced when it reports more than this share of its capacity used. */
  static final double NEARLY_FULL = 0.90;

  /**
   * Moves fragments off live holders that report more than {@value #NEARLY_FULL} of their
   * capacity used (a volunteer lowered its capacity): up to {@code perHolder} fragments each, each
   * copied (verified) to a holder chosen under the placement rules and committed like a repair,
   * which leaves the old copy superseded for garbage collection.
   *
   * @return fragments moved
   */
  public int rebalanceOnce(int perHolder) throws CatalogException {
    long now = clock.millis();
    int moved = 0;
    List<HolderRecord> all = catalog.holders();
    Set<String> live = new HashSet<>();
    Set<String> healthy = new HashSet<>();
    for (HolderRecord r : all) {
      if (rules.live(r, now)) {
        live.add(r.holderId());
      }
      if (rules.healthy(r, now)) {
        healthy.add(r.holderId());
      }
    }
    for (HolderRecord h : all) {
      if (!rules.live(h, now) || h.capacityBytes() <= 0 || h.usedBytes() <= NEARLY_FULL * h.capacityBytes()) {
        continue;
      }
      for (int i = 0; i < perHolder; i++) {
        byte[] start = new byte[32];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(start);
        var pick = custody.storedFragmentNear(h.holderId(), java.util.HexFormat.of().formatHex(start));
        if (pick.isEmpty() || !custody.claim(pick.get().packId(), owner, now, now + CLAIM.toMillis())) {
          break;
        }
        FragmentPlacement f = pick.get();
        try {
          var shape = custody.shape(f.packId()).orElseThrow();
          // The full holder's copy does not count: repair copies it elsewhere, like a leaver's.
          PackHealth health = PackHealth.of(f.packId(), shape.dataFragmentCount(), shape.parityFragmentCount(),
              catalog.placements(f.packId()), id -> healthy.contains(id) && !id.equals(h.holderId()), live::contains);
          moved += repair(health).fragments();
          metrics.packsRepaired.increment();
        } catch (IOException | RuntimeException e) {
          LOG.warn("holder {} is nearly full; moving fragment {} failed: {}", h.holderId(), f.fragmentId(),
              e.getMessage());
          custody.release(f.packId(), owner);
          break;
        }
      }
    }
    return moved;
  }

  /** What repairing one pack did. */
  private record Repaired(int fragments, long bytes) {}

  /** Repairs one claimed pack. Commits or throws. */
  private Repaired repair(PackHealth health) throws IOException {
    String packId = health.packId();
    Manifest manifest = manifests.get(packId);
    long now = clock.millis();
    Map<String, HolderRecord> byId = catalog.holders().stream()
        .collect(Collectors.toMap(HolderRecord::holderId, Function.identity()));
    List<FragmentPlacement> rows = catalog.placements(packId);
    Map<Integer, FragmentPlacement> sources = sources(rows, byId, now);
    // Every holder with any copy of the pack (even superseded, corrupt or offline) gets none of the new ones.
    Set<String> apart = rows.stream().map(FragmentPlacement::holderId).collect(Collectors.toSet());
    // Copies on live holders that do not count (leaving, suspect) are still read, verified: a
    // missing fragment that is readable is copied rather than decoded.
    List<Integer> wanted = health.missing();
    BitSet usable = new BitSet();
    sources.keySet().forEach(usable::set);
    if (usable.cardinality() < manifest.dataFragmentCount()) {
      throw new IOException("only " + usable.cardinality() + " fragments readable, " + manifest.dataFragmentCount()
          + " needed");
    }
    Codec codec = codecs.computeIfAbsent(manifest.dataFragmentCount() + "+" + manifest.parityFragmentCount(),
        c -> Codecs.create(manifest.dataFragmentCount(), manifest.parityFragmentCount()));
    try (FragmentFiles fragments = new FragmentFiles(workDir, "repair-" + abbreviate(packId) + "-", wanted.size())) {
      List<Path> files = fragments.files();
      FragmentRebuilder rebuilder = new FragmentRebuilder(manifest, codec, (index, offset, length) -> {
        bandwidth.take(length);
        FragmentPlacement p = sources.get(index);
        byte[] bytes = holders.read(URI.create(p.endpoint()), manifest.fragments().get(index).id(), offset, length);
        metrics.repairBytesRead.add(bytes.length);
        return bytes;
      }, reads, STRIPE_BYTES);
      try {
        rebuilder.rebuild(wanted, usable, fragments.outputs());
      } finally {
        recordCorruptSources(packId, rebuilder, sources);
      }
      fragments.finish();
      List<FragmentPlacer.Fragment> toPlace = new ArrayList<>();
      long bytes = 0;
      for (int i = 0; i < wanted.size(); i++) {
        toPlace.add(new FragmentPlacer.Fragment(wanted.get(i), manifest.fragments().get(wanted.get(i)).id(),
            files.get(i)));
        bytes += Files.size(files.get(i));
      }
      bandwidth.take(bytes);
      // Holders whose copies count constrain operators and networks too.
      Set<String> keepApart = rows.stream().filter(p -> p.stored() && health.healthy().get(p.fragmentIndex())
          && byId.containsKey(p.holderId()) && rules.healthy(byId.get(p.holderId()), now))
          .map(FragmentPlacement::holderId).collect(Collectors.toSet());
      List<FragmentPlacer.Placed> placed = new FragmentPlacer(new ApartFrom(placements, apart), holders)
          .place(packId, manifest.blockSize(), toPlace, keepApart);
      List<Custody.Rebuilt> rebuilt = placed.stream()
          .map(p -> new Custody.Rebuilt(p.index(), manifest.fragments().get(p.index()).id().hex(), p.holderId()))
          .toList();
      custody.commitRepair(packId, owner, rebuilt);
      metrics.fragmentsRebuilt.add(rebuilt.size());
      metrics.repairBytesWritten.add(bytes);
      LOG.info("pack {}: rebuilt fragments {} onto {}", abbreviate(packId), wanted,
          placed.stream().map(FragmentPlacer.Placed::endpoint).toList());
      return new Repaired(rebuilt.size(), bytes);
    }
  }

  /** One readable copy per index (stored, on a live holder), preferring a healthy holder. */
  private Map<Integer, FragmentPlacement> sources(List<FragmentPlacement> rows, Map<String, HolderRecord> byId,
      long now) {
    Map<Integer, FragmentPlacement> sources = new HashMap<>();
    for (FragmentPlacement p : rows) {
      HolderRecord h = byId.get(p.holderId());
      if (!p.stored() || h == null || !rules.live(h, now)) {
        continue;
      }
      FragmentPlacement before = sources.get(p.fragmentIndex());
      if (before == null || (!rules.healthy(byId.get(before.holderId()), now) && rules.healthy(h, now))) {
        sources.put(p.fragmentIndex(), p);
      }
    }
    return sources;
  }

  /** Copies whose bytes did not match the manifest no longer count, whatever the repair's outcome. */
  private void recordCorruptSources(String packId, FragmentRebuilder rebuilder, Map<Integer, FragmentPlacement> sources)
      throws CatalogException {
    BitSet failed = rebuilder.failedSources();
    for (int i = failed.nextSetBit(0); i >= 0; i = failed.nextSetBit(i + 1)) {
      IOException why = rebuilder.failure(i);
      LOG.warn("pack {}: source fragment {} on holder {} failed: {}", abbreviate(packId), i,
          sources.get(i).holderId(), why.getMessage());
      if (why instanceof FragmentCorruptException
          || why instanceof dev.narvault.core.holder.HolderRefusedException refused && refused.status() == 404) {
        FragmentPlacement p = sources.get(i);
        LOG.warn("pack {}: fragment {} on holder {} is corrupt or gone: {}", abbreviate(packId), i, p.holderId(),
            why.getMessage());
        custody.markCorrupt(packId, i, p.holderId());
      }
    }
  }

  private static String abbreviate(String packId) {
    return packId.length() > 12 ? packId.substring(0, 12) : packId;
  }

  /**
   * Repair's placements: every holder that has any copy of the pack (even a superseded or corrupt
   * one, even offline) is excluded, so a pack never has two rows on one holder; only healthy ones
   * constrain operators and networks.
   */
  private record ApartFrom(PlacementService placements, Set<String> excluded)
      implements dev.narvault.core.coordinator.PlacementAuthority {
    @Override
    public List<dev.narvault.core.coordinator.CoordinatorMessages.Assignment> place(String packId, int blockSize,
        List<dev.narvault.core.coordinator.CoordinatorMessages.Wanted> wanted,
        java.util.Collection<String> placedOn, java.util.Collection<String> failedOn) throws IOException {
      Set<String> notAgain = new HashSet<>(failedOn);
      notAgain.addAll(excluded);
      notAgain.removeAll(placedOn);
      return placements.place(packId, blockSize, wanted, placedOn, notAgain);
    }
  }
}
