package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.DomainLimits;
import dev.narvault.core.coordinator.FailureDomain;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.coordinator.PlacementException;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.PackId;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.PlacementPolicy;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The coordinator as placement authority: picks holders for fragments under the
 * {@link PlacementPolicy} among the holders {@link HolderRules} call placeable — never two of a
 * pack on one holder, within the {@link DomainLimits} of the pack's code, unvetted holders within
 * their share — signs one order per fragment with the coordinator's key, and remembers the orders
 * so that fragments of a placement that never commits are collected later. Used over HTTP by
 * migrate workers and in process by repair.
 */
public final class PlacementService implements PlacementAuthority {
  /** How long an order stays valid: long enough for a slow upload, short enough to be useless later. */
  public static final Duration ORDER_LIFETIME = Duration.ofHours(1);

  private final Catalog catalog;
  private final NixSecretKey coordinatorKey;
  private final HolderRules rules;
  private final DomainLimits limits;
  private final InstantSource clock;
  private final SecureRandom random = new SecureRandom();

  public PlacementService(Catalog catalog, NixSecretKey coordinatorKey, HolderRules rules, DomainLimits limits,
      InstantSource clock) {
    this.catalog = catalog;
    this.coordinatorKey = coordinatorKey;
    this.rules = rules;
    this.limits = limits;
    this.clock = clock;
  }

  /** The configured domain limits (negative: the default for each code). */
  public DomainLimits limits() {
    return limits;
  }

  /** The rules holders are judged by. */
  public HolderRules rules() {
    return rules;
  }

  @Override
  public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
      List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
      throws IOException {
    long now = clock.millis();
    List<HolderRecord> holders = catalog.holders();
    Map<HolderId, HolderRecord> byId = holders.stream().collect(Collectors.toMap(HolderRecord::holderId, Function.identity()));
    long largest = wanted.stream().mapToLong(CoordinatorMessages.Wanted::size).max().orElse(0);
    List<PlacementPolicy.Candidate> chosen = choose(holders, byId, parityFragmentCount, wanted.size(), largest,
        placedOn, failedOn, now);
    if (chosen.size() < wanted.size()) {
      long placeable = holders.stream().filter(h -> rules.placeable(h, now)).count();
      throw new PlacementException(String.format(Locale.ROOT,
          "pack %s needs %d more holders under the placement rules (one fragment per holder, %s per network, "
              + "wider network and operator, %d for unvetted holders, %d bytes free each) but only %d qualify: "
              + "%d holders registered, %d placeable, %d already hold this pack, %d failed for it",
          packId.shortForm(), wanted.size(), describe(limitsFor(parityFragmentCount)),
          rules.vetting().maxPerPack(), largest, chosen.size(), holders.size(), placeable, placedOn.size(),
          failedOn.size()));
    }
    Instant expires = Instant.ofEpochMilli(now).plus(ORDER_LIFETIME);
    List<CoordinatorMessages.Assignment> assignments = new ArrayList<>();
    for (int i = 0; i < wanted.size(); i++) {
      CoordinatorMessages.Wanted w = wanted.get(i);
      HolderRecord h = byId.get(chosen.get(i).holderId());
      Order.Signed order = new Order(Order.Action.PUT, new FragmentId(w.fragmentId()), w.size(), blockSize,
          h.holderId().value(), expires).signWith(coordinatorKey);
      assignments.add(new CoordinatorMessages.Assignment(w.index(), h.holderId().value(),
          dev.narvault.core.holder.HolderEndpoints.pinned(h.endpoint(), h.seenAddress()),
          order.order().text(), order.signature()));
    }
    catalog.placementOrders().recordOrders(packId, wanted.stream().map(CoordinatorMessages.Wanted::fragmentId).toList(),
        assignments.stream().map(a -> new HolderId(a.holderId())).toList(), expires.toEpochMilli());
    return assignments;
  }

  /**
   * How many of {@code count} fragments of {@code bytesEach} the rules could place now, beside the
   * pack's holders {@code placedOn}, on none of {@code excluded}: repair asks before it rebuilds,
   * so it never decodes what it cannot place.
   */
  public int placeableCount(int parityFragmentCount, int count, long bytesEach, Collection<HolderId> placedOn,
      Collection<HolderId> excluded) throws CatalogException {
    long now = clock.millis();
    List<HolderRecord> holders = catalog.holders();
    Map<HolderId, HolderRecord> byId = holders.stream().collect(Collectors.toMap(HolderRecord::holderId, Function.identity()));
    return choose(holders, byId, parityFragmentCount, count, bytesEach, placedOn, excluded, now).size();
  }

  private List<PlacementPolicy.Candidate> choose(List<HolderRecord> holders, Map<HolderId, HolderRecord> byId,
      int parityFragmentCount, int count, long bytesEach, Collection<HolderId> placedOn, Collection<HolderId> failedOn,
      long now) {
    Set<HolderId> excluded = new HashSet<>(placedOn);
    excluded.addAll(failedOn);
    List<PlacementPolicy.Candidate> eligible = holders.stream()
        .filter(h -> rules.placeable(h, now) && !excluded.contains(h.holderId()))
        .map(h -> candidate(h, now)).toList();
    List<FailureDomain> existing = new ArrayList<>();
    int unvetted = 0;
    for (HolderId id : placedOn) {
      HolderRecord h = byId.get(id);
      if (h != null) {
        existing.add(domain(h));
        unvetted += rules.vetted(h, now) ? 0 : 1;
      }
    }
    PlacementPolicy.Constraints constraints = new PlacementPolicy.Constraints(limitsFor(parityFragmentCount),
        rules.vetting().maxPerPack(), unvetted);
    return PlacementPolicy.choose(eligible, existing, count, bytesEach, constraints, random);
  }

  /** Concrete limits for a code; an unknown code (0) gets the strictest: one per domain. */
  DomainLimits limitsFor(int parityFragmentCount) {
    return limits.forCode(parityFragmentCount > 0 ? parityFragmentCount : 1);
  }

  private static String describe(DomainLimits l) {
    return l.perNetwork() + "/" + l.perWiderNetwork() + "/" + l.perOperator();
  }

  /** Signs a delete order for a fragment on a holder. */
  Order.Signed deleteOrder(String fragmentId, HolderId holderId) {
    return new Order(Order.Action.DELETE, new FragmentId(fragmentId), 0, 0, holderId.value(),
        clock.instant().plus(ORDER_LIFETIME)).signWith(coordinatorKey);
  }

  /** Signs a restore order: a fragment back from a holder's trash. */
  Order.Signed restoreOrder(String fragmentId, HolderId holderId) {
    return new Order(Order.Action.RESTORE, new FragmentId(fragmentId), 0, 0, holderId.value(),
        clock.instant().plus(ORDER_LIFETIME)).signWith(coordinatorKey);
  }

  /** A holder's failure domains, from the address its endpoint was proven at. */
  public static FailureDomain domain(HolderRecord h) {
    return FailureDomain.of(h.holderId(), h.seenAddress(), h.operator());
  }

  /** What the catalog counts on each holder, refreshed by {@link #countedBytes(Map)} at most once an hour by the coordinator's loop. */
  private volatile Map<HolderId, Long> counted = Map.of();

  /** The catalog's own count of bytes on each holder (see {@code Custody.countedBytesByHolder}). */
  void countedBytes(Map<HolderId, Long> bytesByHolder) {
    counted = Map.copyOf(bytesByHolder);
  }

  /**
   * A holder's free bytes: its capacity less the larger of what it reports and what the catalog
   * counts on it, so under-reporting draws nothing beyond the capacity.
   */
  long freeBytes(HolderRecord h) {
    long used = Math.max(h.usedBytes(), counted.getOrDefault(h.holderId(), 0L));
    return Math.max(0, h.capacityBytes() - used);
  }

  PlacementPolicy.Candidate candidate(HolderRecord h, long now) {
    long free = freeBytes(h);
    return new PlacementPolicy.Candidate(domain(h), free, PlacementPolicy.provenBytes(free, h.auditsPassed()),
        h.audit().value(), rules.vetted(h, now));
  }

  /** Placeable holders now, for metrics and messages. */
  long placeableHolders() throws CatalogException {
    long now = clock.millis();
    return catalog.holders().stream().filter(h -> rules.placeable(h, now)).count();
  }
}
