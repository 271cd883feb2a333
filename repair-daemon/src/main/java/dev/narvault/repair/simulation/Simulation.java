package dev.narvault.repair.simulation;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.AuditState;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.HolderStatus;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.PackHealth;
import dev.narvault.repair.policy.PlacementPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.DoubleConsumer;

/**
 * Holders over simulated years, and the coordinator's repair rounds over them. Time is a number
 * of hours, advanced from event to event (nothing sleeps). What the coordinator decides, it decides
 * with its own classes: {@link HolderRules} (live, healthy, placeable, from catalog rows built as
 * the coordinator would see them), {@link PackHealth} (health, threshold, queue order) and
 * {@link PlacementPolicy} (where rebuilt fragments go).
 *
 * <p>A holder alternates online and offline periods (Weibull lengths), leaves for good at a
 * monthly rate (its fragments are gone; a new holder joins in its place), may leave with its whole
 * /24 or its Sybil bloc, and its fragments may rot. The coordinator only learns of an absence
 * after {@code offlineAfter} of silence; each round it rebuilds packs below the threshold, if k
 * fragments can be read (on online holders) and the repair bandwidth allows, onto other holders.
 * A pack is lost when fewer than k of its fragments exist anywhere; it is then counted and stored
 * afresh, so that the number of packs at risk stays the same.
 *
 * <p>With the custody rules on, a copy superseded by a rebuild stays where it is while its pack
 * is not whole: it counts against loss, serves as a decode source, and counts again (is revived,
 * after one audit) when its holder is back and its index has no counted copy; it is collected only
 * once the pack is whole without it. Placement weighs holders by the space their audits have
 * proven (a Sybil claiming 1000 TiB weighs what its audits earned), lets unvetted holders hold at
 * most {@code maxUnvettedPerPack} fragments of a pack, and keeps the default domain limits
 * (⌊m/2⌋ per wider network): a Sybil bloc in one /16 holds at most ⌊m/2⌋ fragments of any pack.
 */
public final class Simulation {
  public static final double HOURS_PER_YEAR = 365.25 * 24;
  private static final double HOURS_PER_MONTH = HOURS_PER_YEAR / 12;
  private static final long FREE_BYTES = 4L << 40;
  /** What a Sybil identity claims: 1000 TiB. */
  private static final long SYBIL_CLAIMED_BYTES = 1000L << 40;

  private final SimulationConfig c;
  private final SplittableRandom random;
  private final HolderRules rules;
  private final int k;
  private final int n;
  private final int threshold;
  private final PriorityQueue<Event> events = new PriorityQueue<>();
  private final List<Holder> holders = new ArrayList<>();
  private final List<Holder> present = new ArrayList<>();
  private final Pack[] packs;
  private final Set<Integer> attention = new LinkedHashSet<>();
  private double now;
  private long sequence;
  // Measures.
  private long losses;
  private long reads;
  private long readsServed;
  private long repairBytes;
  private long fragmentsRebuilt;
  private long copiesLost;
  private long copiesRevived;
  private long copiesCollected;
  private long packsKeptByCustody;
  private long repairsFromKeptCopies;
  private long liarsDisqualified;
  private long lostCopiesFoundByAudits;
  private long absencesDeclared;
  private long absencesRefused;
  private final Set<Integer> withSpares = new LinkedHashSet<>();
  private final PlacementPolicy.Constraints constraints;
  private double repairDelayHours;
  private long repairsTimed;
  private double queuedHours;
  private long queuedTimed;
  private double budget;

  private record Event(double time, long sequence, Kind kind, Holder holder, long generation)
      implements Comparable<Event> {
    @Override
    public int compareTo(Event o) {
      int t = Double.compare(time, o.time);
      return t != 0 ? t : Long.compare(sequence, o.sequence);
    }
  }

  private enum Kind { TOGGLE, SILENT, DEPART, NETWORK_FAILURE, SYBIL, CORRUPTION, ROUND, AWAY }

  private static final class Holder {
    final int index;
    final HolderId id;
    final String network;
    final String widerNetwork;
    final boolean sybil;
    final double joined;
    final double uptime;
    final long auditsAtJoin;
    double onlineHours;
    double onlineSince;
    boolean online;
    boolean departed;
    double offlineSince;
    boolean countedLive = true;
    long generation;
    /** Packs of which this holder keeps the counted (stored) copy of an index. */
    final Set<Integer> packs = new LinkedHashSet<>();
    /** Packs of which this holder keeps a superseded copy (custody). */
    final Set<Integer> spares = new LinkedHashSet<>();
    /** Share of what it is given that it silently does not keep (a liar), 0 for an honest holder. */
    double loss;
    /** Packs whose copy on this holder it claims and does not have. */
    final Set<Integer> fakes = new LinkedHashSet<>();
    AuditScore audit = AuditScore.NEW;
    boolean disqualified;
    /** Its declared absence and allowance, as the catalog keeps them. */
    dev.narvault.core.catalog.HolderAway away = dev.narvault.core.catalog.HolderAway.NONE;

    /** Whether its copy of {@code pack} (counted or kept) really exists. */
    boolean really(int pack) {
      return !departed && !fakes.contains(pack);
    }

    Holder(int index, String network, String widerNetwork, boolean sybil, double joined, double uptime,
        long auditsAtJoin) {
      this.index = index;
      this.id = new HolderId("h" + index);
      this.network = network;
      this.widerNetwork = widerNetwork;
      this.sybil = sybil;
      this.joined = joined;
      this.uptime = uptime;
      this.auditsAtJoin = auditsAtJoin;
    }

    /** Audits passed so far: one per audit interval online (as if it held a copy from the start). */
    long auditsPassed(double now, double auditsPerHour) {
      double hours = onlineHours + (online ? Math.max(0, now - onlineSince) : 0);
      return auditsAtJoin + (long) (hours * auditsPerHour);
    }
  }

  private static final class Pack {
    final int index;
    final PackId id;
    final Holder[] holderOf;
    final double[] lostAt;
    /** Superseded copies kept per index (custody), on holders not departed. */
    final List<List<Holder>> spares;
    double queuedSince = Double.NaN;
    int healthy;
    /** Fewer than k stored copies exist and kept copies make up the rest (counted once). */
    boolean onSpares;

    Pack(int index, int n) {
      this.index = index;
      this.id = new PackId("p" + index);
      this.holderOf = new Holder[n];
      this.lostAt = new double[n];
      java.util.Arrays.fill(lostAt, Double.NaN);
      this.spares = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        spares.add(new ArrayList<>(0));
      }
    }

    /** Indexes of which some copy still exists (stored or kept). */
    int existing() {
      int count = 0;
      for (int i = 0; i < holderOf.length; i++) {
        boolean exists = holderOf[i] != null && holderOf[i].really(index);
        for (Holder s : spares.get(i)) {
          exists |= s.really(index);
        }
        count += exists ? 1 : 0;
      }
      return count;
    }

    /** Indexes of which the stored copy still exists. */
    int storedExisting() {
      int count = 0;
      for (Holder h : holderOf) {
        count += h != null && h.really(index) ? 1 : 0;
      }
      return count;
    }

    /** Indexes whose stored copy is on a holder online now. */
    int storedOnline() {
      int count = 0;
      for (Holder h : holderOf) {
        count += h != null && h.online && h.really(index) ? 1 : 0;
      }
      return count;
    }

    /** Indexes of which some copy (stored or kept) is on a holder online now: what repair can read. */
    int readable() {
      int count = 0;
      for (int i = 0; i < holderOf.length; i++) {
        boolean up = holderOf[i] != null && holderOf[i].online && holderOf[i].really(index);
        for (Holder s : spares.get(i)) {
          up |= s.online && s.really(index);
        }
        count += up ? 1 : 0;
      }
      return count;
    }

    boolean holds(Holder h) {
      return h.packs.contains(index) || h.spares.contains(index);
    }
  }

  public Simulation(SimulationConfig config) {
    this.c = config;
    this.random = new SplittableRandom(config.seed());
    this.rules = new HolderRules(config.offlineAfter(), new HolderRules.Vetting(config.vettingAudits(),
        config.vettingPeriod(), config.maxUnvettedPerPack()));
    this.k = config.dataFragmentCount();
    this.n = config.totalFragmentCount();
    this.threshold = config.effectiveThreshold();
    this.packs = new Pack[config.packs()];
    // Before custody there were no wider-network limits: one per /24 only.
    this.constraints = new PlacementPolicy.Constraints(config.custody()
        ? dev.narvault.core.coordinator.DomainLimits.defaults(config.parityFragmentCount())
        : new dev.narvault.core.coordinator.DomainLimits(1, 255, 255), config.maxUnvettedPerPack(), 0);
  }

  /** Runs to the end; {@code progress} is told the share done now and then. */
  public SimulationResult run(DoubleConsumer progress) {
    double end = c.years() * HOURS_PER_YEAR;
    int sybils = (int) Math.round(c.sybilShare() * c.holders());
    for (int i = 0; i < c.holders(); i++) {
      // The founding holders are vetted: they passed their audits before the first pack.
      join(i < sybils, -c.vettingPeriod().toMillis() / 3.6e6 - 1, c.vettingAudits());
    }
    for (int p = 0; p < packs.length; p++) {
      packs[p] = new Pack(p, n);
      storeAfresh(packs[p]);
    }
    schedule(c.checkInterval().toMillis() / 3.6e6, Kind.ROUND, null, 0);
    if (c.networkFailuresPerYear() > 0) {
      schedule(exponential(c.networkFailuresPerYear() / HOURS_PER_YEAR), Kind.NETWORK_FAILURE, null, 0);
    }
    if (sybils > 0) {
      schedule(end / 2, Kind.SYBIL, null, 0);
    }
    double corruptionRate = c.corruptionPerFragmentYear() / HOURS_PER_YEAR * packs.length * n;
    if (corruptionRate > 0) {
      schedule(exponential(corruptionRate), Kind.CORRUPTION, null, 0);
    }
    double reported = 0;
    while (!events.isEmpty() && events.peek().time() <= end) {
      Event e = events.poll();
      now = e.time();
      switch (e.kind()) {
        case TOGGLE -> toggle(e.holder(), e.generation());
        case SILENT -> silent(e.holder(), e.generation());
        case AWAY -> goAway(e.holder());
        case DEPART -> depart(e.holder());
        case NETWORK_FAILURE -> {
          networkFailure();
          schedule(now + exponential(c.networkFailuresPerYear() / HOURS_PER_YEAR), Kind.NETWORK_FAILURE, null, 0);
        }
        case SYBIL -> List.copyOf(present).stream().filter(h -> h.sybil).forEach(this::depart);
        case CORRUPTION -> {
          corrupt();
          schedule(now + exponential(corruptionRate), Kind.CORRUPTION, null, 0);
        }
        case ROUND -> {
          round();
          schedule(now + c.checkInterval().toMillis() / 3.6e6, Kind.ROUND, null, 0);
        }
      }
      if (now - reported > end / 100) {
        reported = now;
        progress.accept(now / end);
      }
    }
    progress.accept(1);
    double packYears = packs.length * c.years();
    double storedBytes = (double) packs.length * k * c.fragmentBytes();
    double fragmentHours = (double) packs.length * n * end;
    double lossPerFragmentHour = copiesLost / fragmentHours;
    double meanRepairHours = repairsTimed == 0 ? Double.NaN : repairDelayHours / repairsTimed;
    // The model's repair time: a loss is noticed after offlineAfter, then the pack waits in the
    // queue (for bandwidth, or for k readable fragments) until rebuilt.
    double meanQueuedHours = queuedTimed == 0 ? 0 : queuedHours / queuedTimed;
    double modelRepairHours = offlineAfterHours() + meanQueuedHours;
    double modelled = ClosedForms.lossesPerPackYear(
        ClosedForms.meanHoursToLoss(n, k, threshold, lossPerFragmentHour, modelRepairHours));
    double[] interval = ClosedForms.poissonInterval(losses, packYears);
    return new SimulationResult(k, c.parityFragmentCount(), threshold, (double) n / k, c.years(), packYears, losses,
        losses / packYears, interval[0], interval[1], reads == 0 ? Double.NaN : (double) readsServed / reads, reads,
        repairBytes / storedBytes / (c.years() * 12), fragmentsRebuilt, lossPerFragmentHour * HOURS_PER_YEAR,
        meanRepairHours, modelRepairHours, modelled, copiesRevived, copiesCollected, packsKeptByCustody,
        repairsFromKeptCopies, liarsDisqualified, lostCopiesFoundByAudits, absencesDeclared, absencesRefused);
  }

  // --- holders -------------------------------------------------------------------------------

  private Holder join(boolean sybil, double at, long auditsAtJoin) {
    int index = holders.size();
    // Sybils pose as strangers: each in a /24 of its own, hidden in wider networks of their own or
    // sharing a few (one machine, one provider).
    String network = sybil ? "sybil" + index : "net" + (index / c.holdersPerNetwork());
    String wider = sybil && c.sybilWiderNetworks() > 0 ? "sybil-wide" + (index % c.sybilWiderNetworks())
        : "wider:" + network;
    Holder h = new Holder(index, network, wider, sybil, at, uptimeOfNewHolder(), auditsAtJoin);
    if (c.liars().share() > 0 && random.nextDouble() < c.liars().share()) {
      h.loss = c.liars().loss();
    }
    holders.add(h);
    present.add(h);
    boolean up = h.uptime >= 1 || random.nextDouble() < h.uptime;
    h.online = up;
    h.offlineSince = up ? 0 : Math.max(0, at);
    h.onlineSince = Math.max(now, at);
    if (h.uptime < 1) {
      schedule(Math.max(now, at) + (up ? onlinePeriod(h) : offlinePeriod()), Kind.TOGGLE, h, h.generation);
    }
    if (!up) {
      schedule(Math.max(now, at) + offlineAfterHours(), Kind.SILENT, h, h.generation);
    }
    if (c.away().share() > 0 && random.nextDouble() < c.away().share()) {
      schedule(Math.max(now, at) + random.nextDouble() * HOURS_PER_MONTH, Kind.AWAY, h, 0);
    }
    if (c.departuresPerMonth() > 0) {
      double hazard = -Math.log1p(-c.departuresPerMonth()) / HOURS_PER_MONTH;
      schedule(Math.max(now, at) + exponential(hazard), Kind.DEPART, h, 0);
    }
    return h;
  }

  private void toggle(Holder h, long generation) {
    if (h.departed || generation != h.generation) {
      return;
    }
    h.generation++;
    if (h.online) {
      h.online = false;
      h.offlineSince = now;
      h.onlineHours += now - h.onlineSince;
      schedule(now + offlineAfterHours(), Kind.SILENT, h, h.generation);
      schedule(now + offlinePeriod(), Kind.TOGGLE, h, h.generation);
    } else {
      h.online = true;
      h.onlineSince = now;
      if (!h.countedLive) {
        setCountedLive(h, true);
      }
      schedule(now + onlinePeriod(h), Kind.TOGGLE, h, h.generation);
    }
  }

  /**
   * A holder that takes absences declares one (if it is up, vetted and has the allowance, by the
   * coordinator's own {@link dev.narvault.core.catalog.HolderAway} rules; or, undeclared, just
   * takes it), goes quiet for exactly that long and comes back; its next absence is about a month
   * later.
   */
  private void goAway(Holder h) {
    if (h.departed) {
      return;
    }
    schedule(now + exponential(1 / HOURS_PER_MONTH), Kind.AWAY, h, 0);
    long nowMillis = millis();
    if (!h.online || h.disqualified || !rules.vetted(record(h), nowMillis)) {
      return;
    }
    double hours = c.away().hours();
    if (c.away().declared()) {
      try {
        h.away = h.away.declare(nowMillis, nowMillis + (long) (hours * 3.6e6));
        absencesDeclared++;
      } catch (IllegalArgumentException e) {
        absencesRefused++; // refused: the volunteer goes anyway, and the coordinator sees silence
      }
    } else {
      absencesDeclared++;
    }
    h.generation++;
    h.online = false;
    h.offlineSince = now;
    h.onlineHours += now - h.onlineSince;
    schedule(now + offlineAfterHours(), Kind.SILENT, h, h.generation);
    schedule(now + hours, Kind.TOGGLE, h, h.generation);
  }

  /** The coordinator's view catches up: silent for offlineAfter, the holder's fragments stop counting. */
  private void silent(Holder h, long generation) {
    if (generation == h.generation && !h.online && h.countedLive) {
      setCountedLive(h, false);
    }
  }

  private void setCountedLive(Holder h, boolean live) {
    h.countedLive = live;
    for (int p : h.packs) {
      packs[p].healthy += live ? 1 : -1;
      watch(packs[p]);
    }
  }

  private void depart(Holder h) {
    if (h.departed) {
      return;
    }
    h.departed = true;
    h.online = false;
    h.offlineSince = now;
    h.generation++;
    present.remove(h);
    schedule(now + offlineAfterHours(), Kind.SILENT, h, h.generation);
    for (int p : List.copyOf(h.spares)) {
      Pack pack = packs[p];
      for (List<Holder> kept : pack.spares) {
        kept.remove(h);
      }
      h.spares.remove(p);
      copiesLost++;
      checkLoss(pack);
    }
    for (int p : List.copyOf(h.packs)) {
      Pack pack = packs[p];
      for (int i = 0; i < n; i++) {
        if (pack.holderOf[i] == h) {
          copyLost(pack, i);
        }
      }
    }
    join(false, now, 0);
  }

  private void networkFailure() {
    Holder victim = present.get(random.nextInt(present.size()));
    for (Holder h : List.copyOf(present)) {
      if (h.network.equals(victim.network)) {
        depart(h);
      }
    }
  }

  private void corrupt() {
    Pack pack = packs[random.nextInt(packs.length)];
    int i = random.nextInt(n);
    Holder h = pack.holderOf[i];
    if (h == null || h.departed) {
      return;
    }
    // Scrub finds it and the holder reports it: the copy is gone and the coordinator knows.
    pack.holderOf[i] = null;
    h.packs.remove(pack.index);
    if (h.countedLive) {
      pack.healthy--;
    }
    copyLost(pack, i);
    watch(pack);
  }

  /** A copy no longer exists (its holder left, or it rotted). */
  private void copyLost(Pack pack, int i) {
    copiesLost++;
    pack.lostAt[i] = now;
    checkLoss(pack);
  }

  /** Fewer than k indexes left anywhere: the pack is lost; it is counted and stored afresh. */
  private void checkLoss(Pack pack) {
    if (pack.existing() >= k) {
      if (!pack.onSpares && pack.storedExisting() < k) {
        // Lost under the old rule: only the copies kept for custody still make it whole.
        pack.onSpares = true;
        packsKeptByCustody++;
      }
      return;
    }
    losses++;
    for (int j = 0; j < n; j++) {
      if (pack.holderOf[j] != null) {
        pack.holderOf[j].packs.remove(pack.index);
        pack.holderOf[j] = null;
      }
      for (Holder s : pack.spares.get(j)) {
        s.spares.remove(pack.index);
      }
      pack.spares.get(j).clear();
    }
    withSpares.remove(pack.index);
    attention.remove(pack.index);
    pack.queuedSince = Double.NaN;
    pack.onSpares = false;
    storeAfresh(pack);
  }

  // --- the coordinator -----------------------------------------------------------------------

  private void storeAfresh(Pack pack) {
    long nowMillis = millis();
    List<PlacementPolicy.Candidate> eligible = candidates(nowMillis);
    List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(eligible, List.of(), n, c.fragmentBytes(),
        constraints, random);
    if (chosen.size() < n) {
      throw new IllegalStateException("only " + chosen.size() + " holders can take a fragment of a new pack; "
          + "more holders (or more networks) are needed for a code of " + n);
    }
    pack.healthy = 0;
    for (int i = 0; i < n; i++) {
      Holder h = holder(chosen.get(i).holderId());
      placeNew(pack, i, h);
      pack.lostAt[i] = Double.NaN;
    }
  }

  /** A new copy, uploaded to {@code h}: a liar keeps it or not. */
  private void placeNew(Pack pack, int i, Holder h) {
    place(pack, i, h);
    if (h.loss > 0 && random.nextDouble() < h.loss) {
      h.fakes.add(pack.index);
    } else {
      h.fakes.remove(pack.index); // what it may have lied about for an earlier copy of this pack
    }
  }

  private void place(Pack pack, int i, Holder h) {
    pack.holderOf[i] = h;
    h.packs.add(pack.index);
    if (h.countedLive) {
      pack.healthy++;
    }
  }

  private void watch(Pack pack) {
    if (pack.healthy < k + threshold && attention.add(pack.index)) {
      pack.queuedSince = now;
    }
  }

  /** The pack is back at or above its threshold: how long it waited counts. */
  private void settled(Pack pack) {
    attention.remove(pack.index);
    if (!Double.isNaN(pack.queuedSince)) {
      queuedHours += now - pack.queuedSince;
      queuedTimed++;
      pack.queuedSince = Double.NaN;
    }
  }

  private void round() {
    long nowMillis = millis();
    sampleReads();
    if (c.repairBytesPerSecond() > 0) {
      double perRound = c.repairBytesPerSecond() * c.checkInterval().toSeconds();
      budget = Math.min(budget + perRound, perRound + (double) (k + n) * c.fragmentBytes());
    }
    audit();
    if (c.custody()) {
      custody();
    }
    if (attention.isEmpty()) {
      return;
    }
    Map<Holder, HolderRecord> records = new HashMap<>();
    List<PackHealth> checked = new ArrayList<>();
    for (int p : attention) {
      checked.add(health(packs[p], records, nowMillis));
    }
    List<PackHealth> queue = PackHealth.queue(checked, threshold);
    Set<Integer> queued = new LinkedHashSet<>();
    queue.forEach(h -> queued.add(pack(h.packId()).index));
    for (int p : List.copyOf(attention)) {
      if (!queued.contains(p)) {
        settled(packs[p]);
      }
    }
    List<PlacementPolicy.Candidate> eligible = null;
    for (PackHealth health : queue) {
      Pack pack = pack(health.packId());
      if (pack.readable() < k) {
        continue;
      }
      if (pack.storedOnline() < k) {
        // The counted copies alone could not be read: kept copies of returning holders make up k.
        repairsFromKeptCopies++;
      }
      List<Integer> missing = health.missing();
      if (missing.isEmpty()) {
        settled(pack);
        continue;
      }
      long cost = (long) (k + missing.size()) * c.fragmentBytes();
      if (c.repairBytesPerSecond() > 0 && budget < cost) {
        break;
      }
      if (eligible == null) {
        eligible = candidates(nowMillis);
      }
      List<PlacementPolicy.Candidate> pool = new ArrayList<>(eligible);
      List<dev.narvault.core.coordinator.FailureDomain> keepApart = new ArrayList<>();
      int unvetted = 0;
      for (int i = 0; i < n; i++) {
        Holder h = pack.holderOf[i];
        if (h != null && !h.departed) {
          keepApart.add(candidate(h).domain());
          unvetted += rules.vetted(record(h), nowMillis) ? 0 : 1;
        }
        for (Holder s : pack.spares.get(i)) {
          // Never a second copy on one holder; kept copies do not count against the domain limits.
          pool.removeIf(e -> e.holderId().equals(s.id));
        }
      }
      for (Holder h : pack.holderOf) {
        if (h != null) {
          pool.removeIf(e -> e.holderId().equals(h.id));
        }
      }
      List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(pool, keepApart, missing.size(),
          c.fragmentBytes(), new PlacementPolicy.Constraints(constraints.limits(), constraints.maxUnvetted(),
              unvetted), random);
      for (int j = 0; j < chosen.size(); j++) {
        int i = missing.get(j);
        Holder old = pack.holderOf[i];
        if (old != null) {
          old.packs.remove(pack.index);
          if (old.countedLive) {
            pack.healthy--;
          }
          if (c.custody() && !old.departed) {
            // Superseded: kept until the pack is whole without it, revived if its index goes missing.
            pack.spares.get(i).add(old);
            old.spares.add(pack.index);
            withSpares.add(pack.index);
          }
          // Without custody the catalog drops the old copy (collected when its holder returns); a
          // departed holder's copy was already gone.
        }
        if (!Double.isNaN(pack.lostAt[i])) {
          repairDelayHours += now - pack.lostAt[i];
          repairsTimed++;
          pack.lostAt[i] = Double.NaN;
        }
        placeNew(pack, i, holder(chosen.get(j).holderId()));
      }
      if (c.liars().share() > 0) {
        checkLoss(pack); // a superseded real copy may have been dropped for a replacement a liar did not keep
      }
      long spent = (long) (k + chosen.size()) * c.fragmentBytes();
      repairBytes += spent;
      budget -= spent;
      fragmentsRebuilt += chosen.size();
      if (pack.healthy >= k + threshold) {
        settled(pack);
      }
    }
  }

  /**
   * A round's audits of the liars (an honest holder passes every audit, which leaves its score
   * where it is): each online liar is audited once per audit interval, on a random copy it is
   * counted for. A copy it does not have fails the audit, is marked corrupt (no longer counted;
   * repair rebuilds it) and lowers its {@link AuditScore}; below the disqualification line the
   * liar is disqualified and none of its copies count any more. Suspect liars receive nothing new.
   */
  private void audit() {
    if (c.liars().share() == 0) {
      return;
    }
    long perRound = Math.max(1, Math.round(auditsPerHour() * c.checkInterval().toMillis() / 3.6e6));
    for (Holder h : List.copyOf(present)) {
      if (h.loss == 0 || h.disqualified || !h.online || h.packs.isEmpty()) {
        continue;
      }
      Integer[] held = h.packs.toArray(new Integer[0]);
      for (long a = 0; a < perRound && !h.disqualified && held.length > 0; a++) {
        int p = held[random.nextInt(held.length)];
        if (!h.packs.contains(p)) {
          continue; // found lost earlier this round: no longer counted, not audited
        }
        boolean passed = !h.fakes.contains(p);
        h.audit = h.audit.after(passed);
        if (!passed) {
          lostCopiesFoundByAudits++;
          h.fakes.remove(p);
          dropCounted(packs[p], h);
        }
        if (h.audit.disqualifying()) {
          h.disqualified = true;
          liarsDisqualified++;
          for (int q : List.copyOf(h.packs)) {
            if (c.custody() && h.really(q)) {
              keepUncounted(packs[q], h);
            } else {
              dropCounted(packs[q], h);
            }
          }
        }
      }
    }
  }

  /**
   * A disqualified holder's copy stops counting but, under custody, is kept (a repair and read
   * source) until its pack is whole without it, like a superseded copy.
   */
  private void keepUncounted(Pack pack, Holder h) {
    int i = uncount(pack, h);
    if (i >= 0) {
      pack.spares.get(i).add(h);
      h.spares.add(pack.index);
      withSpares.add(pack.index);
      pack.lostAt[i] = now;
      watch(pack);
    }
  }

  /** The coordinator stops counting {@code h}'s copy of {@code pack} (found lost, or its holder disqualified). */
  private void dropCounted(Pack pack, Holder h) {
    int i = uncount(pack, h);
    if (i >= 0) {
      copyLost(pack, i);
      watch(pack);
    }
  }

  /** Takes {@code h}'s counted copy out of {@code pack}; returns its index, or -1 when it has none. */
  private int uncount(Pack pack, Holder h) {
    for (int i = 0; i < n; i++) {
      if (pack.holderOf[i] == h) {
        pack.holderOf[i] = null;
        h.packs.remove(pack.index);
        if (h.countedLive) {
          pack.healthy--;
        }
        return i;
      }
    }
    return -1;
  }

  /**
   * The custody step of a round, for packs with kept copies: an index without a counted copy
   * whose kept copy is on a holder counted live and online counts again (the coordinator audits it
   * once and revives it); a pack whole again has its kept copies on online holders collected.
   */
  private void custody() {
    for (int p : List.copyOf(withSpares)) {
      Pack pack = packs[p];
      for (int i = 0; i < n && pack.healthy < n; i++) {
        Holder stored = pack.holderOf[i];
        if (stored != null && stored.countedLive) {
          continue;
        }
        Holder back = null;
        for (Holder s : List.copyOf(pack.spares.get(i))) {
          if (!s.countedLive || !s.online || s.disqualified) {
            continue;
          }
          // The coordinator audits a kept copy before it counts again: a liar's is found out.
          if (s.fakes.contains(p)) {
            s.audit = s.audit.after(false);
            lostCopiesFoundByAudits++;
            s.fakes.remove(p);
            pack.spares.get(i).remove(s);
            s.spares.remove(p);
            continue;
          }
          back = s;
          break;
        }
        if (back == null) {
          continue;
        }
        pack.spares.get(i).remove(back);
        back.spares.remove(p);
        if (stored != null) {
          stored.packs.remove(p);
          if (!stored.departed) {
            pack.spares.get(i).add(stored);
            stored.spares.add(p);
          }
        }
        place(pack, i, back);
        copiesRevived++;
        if (!Double.isNaN(pack.lostAt[i])) {
          repairDelayHours += now - pack.lostAt[i];
          repairsTimed++;
          pack.lostAt[i] = Double.NaN;
        }
      }
      if (wholeOnTrustedHolders(pack)) {
        for (int i = 0; i < n; i++) {
          List<Holder> kept = pack.spares.get(i);
          for (Holder s : List.copyOf(kept)) {
            if (s.online) {
              kept.remove(s);
              s.spares.remove(p);
              copiesCollected++;
            }
          }
        }
      }
      if (pack.storedExisting() >= k) {
        pack.onSpares = false;
      }
      boolean any = false;
      for (List<Holder> kept : pack.spares) {
        any |= !kept.isEmpty();
      }
      if (!any) {
        withSpares.remove(p);
      }
      watch(pack);
    }
  }

  /** Garbage collection's rule: every index counted on a holder live and in good standing (not suspect). */
  private boolean wholeOnTrustedHolders(Pack pack) {
    for (Holder h : pack.holderOf) {
      if (h == null || !h.countedLive || h.disqualified || h.audit.suspect()) {
        return false;
      }
    }
    return true;
  }

  private PackHealth health(Pack pack, Map<Holder, HolderRecord> records, long nowMillis) {
    List<FragmentPlacement> placements = new ArrayList<>(n);
    Map<HolderId, Holder> byId = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Holder h = pack.holderOf[i];
      if (h != null) {
        placements.add(new FragmentPlacement(pack.id, i, pack.id + "/" + i, h.id, "", FragmentState.STORED));
        byId.put(h.id, h);
        records.computeIfAbsent(h, this::record);
      }
    }
    return PackHealth.of(pack.id, k, c.parityFragmentCount(), placements, new PackHealth.Holders() {
      @Override
      public boolean healthy(HolderId id) {
        return rules.healthy(records.get(byId.get(id)), nowMillis);
      }

      @Override
      public boolean live(HolderId id) {
        return rules.live(records.get(byId.get(id)), nowMillis);
      }

      @Override
      public boolean excused(HolderId id) {
        return rules.excused(records.get(byId.get(id)), nowMillis);
      }

      @Override
      public dev.narvault.core.coordinator.FailureDomain domain(HolderId id) {
        return dev.narvault.core.coordinator.FailureDomain.of(id, "", "");
      }
    }, dev.narvault.core.coordinator.DomainLimits.DEFAULT);
  }

  /** The holder as the catalog has it now: last heard from when it was last online. */
  private HolderRecord record(Holder h) {
    long lastSeen = h.online ? millis() : (long) (h.offlineSince * 3.6e6);
    AuditState auditState = h.disqualified ? AuditState.DISQUALIFIED
        : h.audit.suspect() ? AuditState.SUSPECT : AuditState.OK;
    return new HolderRecord(h.id, "", Optional.empty(), claimedBytes(h), 0, h.packs.size(), "", "", "", lastSeen,
        auditState, h.network, (long) (h.joined * 3.6e6), h.audit, HolderStatus.ONLINE, lastSeen,
        dev.narvault.core.catalog.SuspensionScore.NEW, h.auditsPassed(now, auditsPerHour()), h.away);
  }

  /** Holders a fragment can go to now: placeable by the rules, and up (an upload to a silent one fails). */
  private List<PlacementPolicy.Candidate> candidates(long nowMillis) {
    List<PlacementPolicy.Candidate> list = new ArrayList<>();
    for (Holder h : present) {
      if (h.online && rules.placeable(record(h), nowMillis)) {
        list.add(candidate(h));
      }
    }
    return list;
  }

  /**
   * A holder as placement sees it: free space as counted (its claim less what it keeps), weighed
   * by what its audits have proven, vetted by the coordinator's rules. No operator is declared.
   */
  private PlacementPolicy.Candidate candidate(Holder h) {
    long free = Math.max(0, claimedBytes(h) - (long) (h.packs.size() + h.spares.size()) * c.fragmentBytes());
    long proven = c.custody() ? PlacementPolicy.provenBytes(free, h.auditsPassed(now, auditsPerHour())) : free;
    return new PlacementPolicy.Candidate(new dev.narvault.core.coordinator.FailureDomain(h.id, h.network,
        h.widerNetwork, "holder:" + h.id), free, proven, h.audit.value(), rules.vetted(record(h), millis()));
  }

  private static long claimedBytes(Holder h) {
    return h.sybil ? SYBIL_CLAIMED_BYTES : FREE_BYTES;
  }

  private double auditsPerHour() {
    return 3.6e6 / c.auditInterval().toMillis();
  }

  /** A new holder's uptime: drawn from the population's classes by share. */
  private double uptimeOfNewHolder() {
    if (c.population().isEmpty()) {
      return c.uptime();
    }
    double at = random.nextDouble();
    for (SimulationConfig.HolderClass hc : c.population()) {
      at -= hc.share();
      if (at < 0) {
        return hc.uptime();
      }
    }
    return c.population().getLast().uptime();
  }

  private void sampleReads() {
    for (int r = 0; r < c.readsPerCheck(); r++) {
      Pack pack = packs[random.nextInt(packs.length)];
      // Under custody the gateway reads kept copies too (every block is verified anyway).
      int up = c.custody() ? pack.readable() : pack.storedOnline();
      reads++;
      readsServed += up >= k ? 1 : 0;
    }
  }

  /** The holder behind a policy id ("h" + index). */
  private Holder holder(HolderId id) {
    return holders.get(Integer.parseInt(id.value().substring(1)));
  }

  /** The pack behind a policy id ("p" + index). */
  private Pack pack(PackId id) {
    return packs[Integer.parseInt(id.hex().substring(1))];
  }

  // --- time ----------------------------------------------------------------------------------

  private void schedule(double at, Kind kind, Holder h, long generation) {
    events.add(new Event(at, sequence++, kind, h, generation));
  }

  private long millis() {
    return (long) (now * 3.6e6);
  }

  private double offlineAfterHours() {
    return c.offlineAfter().toMillis() / 3.6e6;
  }

  private double offlinePeriod() {
    return weibull(c.meanOfflineHours());
  }

  private double onlinePeriod(Holder h) {
    return weibull(c.meanOfflineHours() * h.uptime / (1 - h.uptime));
  }

  /** A Weibull length with the configured shape and this mean. */
  private double weibull(double mean) {
    double shape = c.weibullShape();
    double scale = mean / Math.exp(logGamma(1 + 1 / shape));
    return scale * Math.pow(-Math.log(1 - random.nextDouble()), 1 / shape);
  }

  private double exponential(double rate) {
    return -Math.log(1 - random.nextDouble()) / rate;
  }

  /** ln Γ(x) for x > 0 (Lanczos, g = 7). */
  static double logGamma(double x) {
    double[] g = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61503916999185, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};
    if (x < 0.5) {
      return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
    }
    x -= 1;
    double a = g[0];
    double t = x + 7.5;
    for (int i = 1; i < 9; i++) {
      a += g[i] / (x + i);
    }
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
  }
}
