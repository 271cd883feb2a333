package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Custody;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.Journal;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.time.InstantSource;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes archived NARs out of S3, one object at a time, only when it is safe (DESIGN §11): the
 * object's pack is committed in the catalog (it is in the journal), the NAR has been read back
 * through the holders, every block verified, decompressed and found to match its signed NarHash
 * and NarSize, and, judged again immediately before the delete, the pack is {@linkplain #safetyNow
 * safely placed}. With {@code --backstop-bucket}, the pack must also have its backstop there
 * ({@link BackstopWriter}). Then the object is copied to the drain bucket if there is one, and deleted.
 * Each step is recorded in the journal and each is safe to repeat, so a crash anywhere is
 * finished by the next run.
 *
 * <p>An object still in use ({@link InUse}: a store path naming it is in a hot root's closure, or
 * it was requested within the {@code --unused-for} window) is not drained, whenever it was
 * archived. With {@code --unused-for}, objects put back into S3 ({@link Journal.State#RESTORED})
 * that are unused again and were put back before the window began go back to
 * {@link Journal.State#COMMITTED} and are drained like any other.
 *
 * <p>Nothing about safety is remembered between objects, passes or runs: a verified entry that
 * waited (a killed run, a failed delete) while its pack degraded is judged as it is now, and if
 * it is no longer safe it goes back to {@link Journal.State#COMMITTED}, to be read back again
 * before anything is deleted.
 */
final class Drainer {
  private static final Logger LOG = LoggerFactory.getLogger(Drainer.class);
  private static final int PAGE = 500;
  /**
   * How long a fragment's answer to a probe stands: well within any liveness window, and long
   * enough that draining the objects of one pack asks each fragment once.
   */
  static final long PROBE_VALID_MILLIS = java.time.Duration.ofMinutes(10).toMillis();
  /** Past this many remembered answers, the expired ones are dropped. */
  private static final int PROBES_KEPT = 100_000;
  /**
   * How long the drain's claim on one object lasts ({@link #remove}) unless told otherwise
   * ({@code migrate --claim-lifetime}): it is extended right before the delete, so this only
   * bounds how long a killed drain keeps a put-back, or the next drain, waiting.
   */
  static final java.time.Duration CLAIM_LIFETIME = java.time.Duration.ofMinutes(10);

  /** What draining did, and what is left. */
  record Result(long objects, long bytes, long failed) {}

  /**
   * How one pack stands for the drain right now.
   *
   * @param counted fragment indexes that count (see {@link #safetyNow})
   * @param needed k + r: at least this many must count
   */
  record Safety(PackId packId, int counted, int needed) {
    boolean safe() {
      return counted >= needed;
    }

    @Override
    public String toString() {
      return counted + " fragments count of the " + needed + " needed";
    }
  }

  private final Catalog catalog;
  private final Archive archive;
  private final ObjectSource objects;
  private final DrainConfig config;
  private final InUse inUse;
  private final CoordinatorMessages.Policy policy;
  private final InstantSource clock;
  private final FragmentProbe probe;
  private final java.util.Optional<BackstopWriter> backstops;
  /** When each (holder, fragment) last answered a probe, for {@link #PROBE_VALID} at most. */
  private final Map<String, Long> probedAt = new java.util.concurrent.ConcurrentHashMap<>();
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
  /** Who this drain is in the object claims it shares with put-backs and other drains. */
  private final String claimer = "drain-" + java.util.UUID.randomUUID();
  private final long claimMillis;
  private long drained;
  private long drainedBytes;
  private long failed;

  /**
   * @param policy the coordinator's liveness window and failure-domain limits, by which
   *     fragments count
   * @param probe asks a holder whether it still has a fragment
   */
  Drainer(Catalog catalog, Archive archive, ObjectSource objects, DrainConfig config,
      CoordinatorMessages.Policy policy, FragmentProbe probe, InstantSource clock) {
    this(catalog, archive, objects, config, InUse.NOBODY, policy, probe, clock);
  }

  /** @param inUse what keeps an archived object in S3 however cold its pack is */
  Drainer(Catalog catalog, Archive archive, ObjectSource objects, DrainConfig config, InUse inUse,
      CoordinatorMessages.Policy policy, FragmentProbe probe, InstantSource clock) {
    this(catalog, archive, objects, config, inUse, policy, probe, clock, java.util.Optional.empty(), CLAIM_LIFETIME);
  }

  /**
   * @param backstops with {@code --backstop-bucket}: a pack's objects are drained only once the
   *     pack has its backstop there (placed now if it has none)
   * @param claimLifetime how long its claim on the object it is deleting lasts unless extended
   */
  Drainer(Catalog catalog, Archive archive, ObjectSource objects, DrainConfig config, InUse inUse,
      CoordinatorMessages.Policy policy, FragmentProbe probe, InstantSource clock,
      java.util.Optional<BackstopWriter> backstops, java.time.Duration claimLifetime) {
    this.backstops = backstops;
    this.claimMillis = claimLifetime.toMillis();
    this.catalog = catalog;
    this.archive = archive;
    this.objects = objects;
    this.config = config;
    this.inUse = inUse;
    this.policy = policy;
    this.probe = probe;
    this.clock = clock;
  }

  /** Read by the run's thread while packs drain on the sealing thread. */
  synchronized Result result() {
    return new Result(drained, drainedBytes, failed);
  }

  /** Drains every object the journal holds as committed or verified: this run's and earlier runs'. */
  void drainPending() throws IOException {
    if (inUse.window().isPresent()) {
      returnRestored(inUse.window().get());
    }
    for (Journal.State from : List.of(Journal.State.VERIFIED, Journal.State.COMMITTED)) {
      String after = "";
      while (true) {
        List<Journal.Entry> page = catalog.journal().inState(from, after, PAGE);
        if (page.isEmpty()) {
          break;
        }
        drainEach(page);
        after = page.getLast().fileKey();
      }
    }
  }

  /**
   * Objects put back into this bucket that are unused again: back to committed (and so drained
   * with the rest) when nobody requested them within {@code window} and they were put back (by the
   * journal, and uploaded, by S3) before it began. Objects put back into another bucket are not
   * this drain's: they stay restored there.
   */
  private void returnRestored(java.time.Duration window) throws IOException {
    String after = "";
    while (true) {
      List<Journal.Entry> page = catalog.journal().inState(Journal.State.RESTORED, after, PAGE);
      if (page.isEmpty()) {
        return;
      }
      String last = null;
      for (Journal.Entry e : page) {
        if (e.fileKey().equals(last)) {
          continue;
        }
        last = e.fileKey();
        java.util.Optional<String> into = catalog.journal().restoredTo(e.storeHash());
        if (into.isPresent() && !into.get().equals(objects.bucket())) {
          continue;
        }
        if (inUse.why(catalog.journal().storeHashesOf(e.fileKey()), e.fileKey()).isPresent()) {
          continue;
        }
        java.time.Instant windowBegan = clock.instant().minus(window);
        // Put back when the journal says (restore may find an object uploaded long ago) or when
        // it was uploaded, whichever is later.
        if (catalog.journal().restoredMillis(e.fileKey()).filter(at -> at > windowBegan.toEpochMilli()).isPresent()) {
          continue;
        }
        try {
          if (objects.stat(e.fileKey()).lastModified().isAfter(windowBegan)) {
            continue;
          }
        } catch (ObjectNotFoundException gone) {
          // Taken out of S3 by someone else: the archive still has it, and the read back decides.
        }
        catalog.journal().advance(e.fileKey(), Journal.State.RESTORED, Journal.State.COMMITTED, clock.millis());
        LOG.info("{} was put back into S3 and is unused again: to be drained again", e.fileKey());
      }
      after = page.getLast().fileKey();
    }
  }

  /** Drains the objects of one pack just committed. */
  void drainPack(PackId packId) throws IOException {
    drainEach(catalog.journal().inPack(packId, Journal.State.COMMITTED));
  }

  /** Entries ordered by object key: each object once. */
  private void drainEach(List<Journal.Entry> entries) throws IOException {
    String last = null;
    for (Journal.Entry e : entries) {
      if (!e.fileKey().equals(last)) {
        drainObject(e);
        last = e.fileKey();
      }
    }
  }

  /** One S3 object, named by one or more journal entries of one pack. */
  private void drainObject(Journal.Entry entry) throws IOException {
    try {
      if (catalog.packs().retired(entry.packId()).isPresent()) {
        // A forgotten path's entry, left with its pack when forget rewrote it (the live paths'
        // entries moved to the new pack): forget deletes its S3 objects, and there is nothing to read back.
        return;
      }
      if (catalog.journal().anyRestored(entry.fileKey())) {
        // Put back (another store path's entry may say so: an alias committed later): it stays.
        return;
      }
      if (inUse.judges()) {
        java.util.Optional<String> why = inUse.why(catalog.journal().storeHashesOf(entry.fileKey()), entry.fileKey());
        if (why.isPresent()) {
          LOG.info("not draining {}: in use ({})", entry.fileKey(), why.get());
          return;
        }
      }
      if (backstops.isPresent()) {
        // The pack's copy of last resort first: no object leaves S3 while its pack has none.
        backstops.get().ensure(entry.packId());
      }
      if (entry.state() == Journal.State.COMMITTED) {
        // Not worth reading back what could not be deleted anyway.
        Safety safety = safetyNow(entry.packId());
        if (!safety.safe()) {
          LOG.info("not draining {}: pack {} is not safely placed: {}", entry.fileKey(), entry.packId(), safety);
          return;
        }
        readBack(entry);
        catalog.journal().advance(entry.fileKey(), Journal.State.COMMITTED, Journal.State.VERIFIED, clock.millis());
      }
      if (!remove(entry)) {
        return;
      }
      synchronized (this) {
        drained++;
        drainedBytes += entry.fileSize();
      }
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      // Left as it was: in S3 and archived; the next run tries again.
      synchronized (this) {
        failed++;
      }
      LOG.warn("not draining {}: {}", entry.fileKey(), e.getMessage());
    }
  }

  /**
   * Whether {@code packId} is safely placed now, from its rows and its holders' rows read just now
   * (never from an earlier answer). A fragment index counts when one copy of it:
   *
   * <ul>
   *   <li>is stored (not corrupt, superseded, or restored and not yet audited);
   *   <li>is on a holder that is not disqualified, not suspect, not suspended (stricter than
   *       repair, which still counts a suspect or suspended holder's fragments: the drain is the
   *       one step that cannot be undone), not leaving and not away by its own word;
   *   <li>whose holder was heard from (a signed heartbeat) and reached at its endpoint by the
   *       coordinator within the coordinator's liveness window;
   *   <li>is admitted by the pack's failure-domain limits (per network, wider network and
   *       operator, from the holder's proven address), counted in index order: fragments
   *       crowded into one domain count only up to its limit;
   *   <li>and its holder answered a probe ({@code HEAD}, at its proven address, with the
   *       fragment's full length) for it within the last
   *       {@link #PROBE_VALID_MILLIS} (or the liveness window, if shorter): a holder that answers
   *       proofs and heartbeats but lost the fragment does not count.
   * </ul>
   *
   * Safe when at least k + r indexes count. The tally takes copies greedily, in index order, so
   * it may count fewer than the best assignment would: it errs towards keeping the S3 copy.
   */
  Safety safetyNow(PackId packId) throws IOException {
    Custody.PackShape shape = catalog.custody().shape(packId)
        .orElseThrow(() -> new IOException("the journal names pack " + packId + " but the catalog has no such pack"));
    int needed = shape.dataFragmentCount() + config.threshold(shape.parityFragmentCount());
    long liveSince = clock.millis() - policy.liveWithinMillis();
    Map<HolderId, HolderRecord> holders = new HashMap<>();
    for (HolderRecord h : catalog.registry().holdersOf(packId)) {
      holders.put(h.holderId(), h);
    }
    DomainLimits.Tally tally = policy.limits().forCode(shape.parityFragmentCount()).tally();
    long fragmentSize = Math.ceilDiv(shape.packLength(), shape.dataFragmentCount());
    BitSet counted = new BitSet();
    for (FragmentPlacement p : catalog.placements(packId)) {
      HolderRecord h = holders.get(p.holderId());
      if (!p.stored() || counted.get(p.fragmentIndex()) || h == null || !counts(h, liveSince)) {
        continue;
      }
      FailureDomain domain = FailureDomain.of(h.holderId(), h.seenAddress(), h.operator());
      if (tally.admits(domain) && probed(p, h, fragmentSize)) {
        tally.add(domain);
        counted.set(p.fragmentIndex());
      }
    }
    return new Safety(packId, counted.cardinality(), needed);
  }

  /**
   * Whether the holder of {@code p} answered for it recently, asking it now if not: at the address
   * the coordinator proved it at (a name that resolves elsewhere since is not followed), and for
   * the fragment's whole length.
   */
  private boolean probed(FragmentPlacement p, HolderRecord h, long fragmentSize) {
    String key = p.holderId() + "/" + p.fragmentId();
    long now = clock.millis();
    Long at = probedAt.get(key);
    if (at != null && now - at <= Math.min(PROBE_VALID_MILLIS, policy.liveWithinMillis())) {
      return true;
    }
    if (probe.present(dev.narvault.core.holder.HolderEndpoints.pinned(p.endpoint(), h.seenAddress()), p.fragmentId(),
        fragmentSize)) {
      if (probedAt.size() >= PROBES_KEPT) {
        // Answers too old to stand go: a long drain keeps only the last few minutes' worth.
        probedAt.values().removeIf(t -> now - t > PROBE_VALID_MILLIS);
      }
      probedAt.put(key, now);
      return true;
    }
    probedAt.remove(key);
    return false;
  }

  private boolean counts(HolderRecord h, long liveSince) {
    // Not one that declared an absence either: after the drain its copy may be the one that is
    // excused, and never read, while it is away.
    return !h.disqualified() && !h.suspect() && !h.suspended() && !h.exiting() && h.lastSeenMillis() >= liveSince
        && h.reachedMillis() >= liveSince && !h.away().away(clock.millis());
  }

  /** Reads the whole object back through the holders and checks it against its signed narinfo. */
  private void readBack(Journal.Entry entry) throws IOException {
    ArchivedNar nar = archive.narInfo(entry.storeHash())
        .orElseThrow(() -> new IOException("journal names " + entry.storeHash() + " but the catalog does not"));
    VerifiedRead.into(archive, nar, readers, OutputStream.nullOutputStream());
  }

  /**
   * Copies (when moving) and deletes the object, and journals it drained; each may be repeated
   * after a crash. All of it under the drain's claim on the object, which put-backs
   * ({@code restore}, {@code promote}) and other drains take too: a put-back that found the object
   * in S3 cannot record it as put back while the drain deletes it, nor the drain delete it while a
   * put-back checks and records it. Right before the delete the pack is judged again: if it is no
   * longer safe the entry goes back to committed (false), so that it is read back again before any
   * later delete. With backstops, the pack's backstop must still be in its bucket at its full
   * length right then.
   */
  private boolean remove(Journal.Entry entry) throws IOException {
    long now = clock.millis();
    if (!catalog.journal().claimObject(entry.fileKey(), claimer, now, now + claimMillis)) {
      LOG.info("not draining {} now: another worker holds it (putting it back, or draining it)", entry.fileKey());
      return false;
    }
    try {
      return removeClaimed(entry);
    } finally {
      catalog.journal().releaseObjects(claimer, List.of(entry.fileKey()));
    }
  }

  private boolean removeClaimed(Journal.Entry entry) throws IOException {
    // Judged under the claim: a put-back that recorded the object before it is seen here.
    if (!stillVerified(entry)) {
      return false;
    }
    try {
      long size = objects.stat(entry.fileKey()).size();
      if (size != entry.fileSize()) {
        throw new IOException("s3 object " + entry.fileKey() + " is " + size + " bytes now, archived " + entry.fileSize()
            + ": it changed since, not deleting it");
      }
      // A forgotten object (narvault forget, its deletion still pending) is deleted, never copied on.
      if (config.mode() == DrainConfig.Mode.MOVE && !catalog.forgotten().isForgottenObject(entry.fileKey())) {
        String toBucket = config.toBucket().orElseThrow();
        objects.copyTo(entry.fileKey(), toBucket, config.storageClass());
        if (catalog.forgotten().isForgottenObject(entry.fileKey())) {
          // Forgotten during the copy: the takedown does not know the other bucket, so the copy goes here.
          objects.inBucket(toBucket).delete(entry.fileKey());
          LOG.warn("{} was forgotten (narvault forget) while it was copied to bucket {}: the copy is deleted again",
              entry.fileKey(), toBucket);
        }
      }
      Safety safety = safetyNow(entry.packId());
      if (!safety.safe()) {
        catalog.journal().advance(entry.fileKey(), Journal.State.VERIFIED, Journal.State.COMMITTED, clock.millis());
        LOG.warn("not deleting {}: pack {} is no longer safely placed ({}); back to committed, to be read back "
            + "again before it is deleted", entry.fileKey(), entry.packId(), safety);
        return false;
      }
      if (!stillVerified(entry)) {
        return false;
      }
      if (backstops.isPresent()) {
        // Checked again right before the delete: a lifecycle rule or a hand may have removed the
        // backstop since it was placed (throws, and places it again, when it is not whole).
        backstops.get().confirm(entry.packId());
      }
      if (!catalog.journal().stillHolds(entry.fileKey(), claimer, clock.millis() + claimMillis)) {
        // Lapsed while the pack was judged, and taken by a put-back or another drain meanwhile.
        LOG.info("not deleting {}: its claim lapsed and another worker took it", entry.fileKey());
        return false;
      }
      objects.delete(entry.fileKey());
    } catch (ObjectNotFoundException gone) {
      // Only a drain deletes it, after copying: finish the bookkeeping.
    }
    catalog.journal().advance(entry.fileKey(), Journal.State.VERIFIED, Journal.State.DRAINED, clock.millis());
    return true;
  }

  /** Whether the entry is verified still, and no entry of its object is put back. */
  private boolean stillVerified(Journal.Entry entry) throws IOException {
    if (catalog.journal().state(entry.storeHash()).filter(s -> s == Journal.State.VERIFIED).isEmpty()
        || catalog.journal().anyRestored(entry.fileKey())) {
      LOG.info("not deleting {}: its journal entry left verified meanwhile (put back, or drained)", entry.fileKey());
      return false;
    }
    return true;
  }
}
