package dev.narvault.repair;

import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.coordinator.PlacementException;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code POST /v1/placements}: a worker's signed request for holders. The request must be signed
 * by a worker key the coordinator was given, name that key, carry the placement-request type and
 * a timestamp within the allowed skew. Answers 200 with the grant, 503 when the rules cannot be met.
 */
final class PlacementEndpoint {
  private final PlacementService placements;
  private final Map<String, NixPublicKey> workers;
  private final InstantSource clock;
  private final Duration maxSkew;
  private final CoordinatorMetrics metrics;

  PlacementEndpoint(PlacementService placements, List<NixPublicKey> workerKeys, InstantSource clock, Duration maxSkew,
      CoordinatorMetrics metrics) {
    this.placements = placements;
    this.workers = workerKeys.stream().collect(Collectors.toMap(NixPublicKey::name, Function.identity(), (a, b) -> a));
    this.clock = clock;
    this.maxSkew = maxSkew;
    this.metrics = metrics;
  }

  /** {@code GET /v1/policy}: the liveness window and domain limits, public. */
  byte[] policy() {
    var limits = placements.limits();
    return JsonCodec.toJson(new CoordinatorMessages.Policy(placements.rules().offlineAfter().toMillis(),
        limits.perNetwork(), limits.perWiderNetwork(), limits.perOperator()));
  }

  private static PackId packId(String wire) throws MembershipException {
    try {
      return new PackId(wire);
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, e.getMessage());
    }
  }

  private static List<HolderId> holderIds(List<String> wire) throws MembershipException {
    try {
      return wire.stream().map(HolderId::new).toList();
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, e.getMessage());
    }
  }

  byte[] handle(byte[] body, String signature) throws MembershipException, CatalogException {
    CoordinatorMessages.PlacementRequest request;
    try {
      request = JsonCodec.parse(body, CoordinatorMessages.PlacementRequest.class);
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, e.getMessage());
    }
    NixPublicKey key = workers.get(request.worker());
    if (key == null || !SignedMessages.verify(body, signature, key)) {
      throw new MembershipException(401, "placement requests must be signed by a worker key this coordinator trusts");
    }
    long skew = Math.abs(clock.millis() - request.timestampMillis());
    if (skew > maxSkew.toMillis()) {
      throw new MembershipException(409, "timestamp is " + skew + " ms from the coordinator's clock");
    }
    try {
      var assignments = placements.place(packId(request.packId()), request.parityFragments(), request.blockSize(),
          request.fragments(), holderIds(request.placedOn()), holderIds(request.failedOn()));
      metrics.placementsGranted.increment();
      return JsonCodec.toJson(new CoordinatorMessages.PlacementGrant(assignments));
    } catch (PlacementException e) {
      metrics.placementsRefused.increment();
      throw new MembershipException(503, e.getMessage());
    } catch (CatalogException e) {
      throw e;
    } catch (IOException e) {
      throw new MembershipException(503, e.getMessage());
    }
  }
}
