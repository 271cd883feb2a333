package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementAuthority;
import dev.narvault.core.coordinator.PlacementException;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.repair.policy.Networks;
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
 * {@link PlacementPolicy} among the holders {@link HolderRules} call placeable, signs one order per
 * fragment with the coordinator's key, and remembers the orders so that fragments of a placement
 * that never commits are collected later. Used over HTTP by migrate workers and in process by repair.
 */
public final class PlacementService implements PlacementAuthority {
  /** How long an order stays valid: long enough for a slow upload, short enough to be useless later. */
  public static final Duration ORDER_LIFETIME = Duration.ofHours(1);

  private final Catalog catalog;
  private final NixSecretKey coordinatorKey;
  private final HolderRules rules;
  private final InstantSource clock;
  private final SecureRandom random = new SecureRandom();

  public PlacementService(Catalog catalog, NixSecretKey coordinatorKey, HolderRules rules, InstantSource clock) {
    this.catalog = catalog;
    this.coordinatorKey = coordinatorKey;
    this.rules = rules;
    this.clock = clock;
  }

  @Override
  public List<CoordinatorMessages.Assignment> place(String packId, int blockSize,
      List<CoordinatorMessages.Wanted> wanted, Collection<String> placedOn, Collection<String> failedOn)
      throws IOException {
    long now = clock.millis();
    List<HolderRecord> holders = catalog.holders();
    Map<String, HolderRecord> byId = holders.stream().collect(Collectors.toMap(HolderRecord::holderId, Function.identity()));
    Set<String> excluded = new HashSet<>(placedOn);
    excluded.addAll(failedOn);
    List<PlacementPolicy.Candidate> eligible = holders.stream()
        .filter(h -> rules.placeable(h, now) && !excluded.contains(h.holderId()))
        .map(PlacementService::candidate).toList();
    List<PlacementPolicy.Candidate> apart = placedOn.stream().map(byId::get).filter(h -> h != null)
        .map(PlacementService::candidate).toList();
    long largest = wanted.stream().mapToLong(CoordinatorMessages.Wanted::size).max().orElse(0);
    List<PlacementPolicy.Candidate> chosen = PlacementPolicy.choose(eligible, apart, wanted.size(), largest, random);
    if (chosen.size() < wanted.size()) {
      long placeable = holders.stream().filter(h -> rules.placeable(h, now)).count();
      throw new PlacementException(String.format(Locale.ROOT,
          "pack %s needs %d more holders under the placement rules (distinct holder, operator and /24 or /48, "
              + "%d bytes free each) but only %d qualify: %d holders registered, %d placeable, %d already hold "
              + "this pack, %d failed for it", abbreviate(packId), wanted.size(), largest, chosen.size(),
          holders.size(), placeable, placedOn.size(), failedOn.size()));
    }
    Instant expires = Instant.ofEpochMilli(now).plus(ORDER_LIFETIME);
    List<CoordinatorMessages.Assignment> assignments = new ArrayList<>();
    for (int i = 0; i < wanted.size(); i++) {
      CoordinatorMessages.Wanted w = wanted.get(i);
      HolderRecord h = byId.get(chosen.get(i).holderId());
      Order.Signed order = new Order(Order.Action.PUT, new FragmentId(w.fragmentId()), w.size(), blockSize,
          h.holderId(), expires).signWith(coordinatorKey);
      assignments.add(new CoordinatorMessages.Assignment(w.index(), h.holderId(), h.endpoint(),
          order.order().text(), order.signature()));
    }
    catalog.custody().recordOrders(packId, wanted.stream().map(CoordinatorMessages.Wanted::fragmentId).toList(),
        assignments.stream().map(CoordinatorMessages.Assignment::holderId).toList(), expires.toEpochMilli());
    return assignments;
  }

  /** Signs a delete order for a fragment on a holder. */
  Order.Signed deleteOrder(String fragmentId, String holderId) {
    return new Order(Order.Action.DELETE, new FragmentId(fragmentId), 0, 0, holderId,
        clock.instant().plus(ORDER_LIFETIME)).signWith(coordinatorKey);
  }

  static PlacementPolicy.Candidate candidate(HolderRecord h) {
    return new PlacementPolicy.Candidate(h.holderId(), h.operator(), Networks.of(h.seenAddress()), h.freeBytes(),
        h.audit().value());
  }

  private static String abbreviate(String packId) {
    return packId.length() > 12 ? packId.substring(0, 12) : packId;
  }

  /** Placeable holders now, for metrics and messages. */
  long placeableHolders() throws CatalogException {
    long now = clock.millis();
    return catalog.holders().stream().filter(h -> rules.placeable(h, now)).count();
  }
}
