package dev.narvault.core.coordinator;

import dev.narvault.core.pack.FragmentId;
import java.util.List;

/**
 * The worker ↔ coordinator messages as records; {@link dev.narvault.core.json.JsonCodec} reads and
 * writes them. Unknown fields, missing fields and wrong types are refused with a message saying which.
 */
public final class CoordinatorMessages {
  /** Type tag of a placement request, so that no other signed message can stand in for one. */
  public static final String PLACEMENT_REQUEST = "placement-request";
  /** Requests carry at most this many fragments (k + m ≤ 256). */
  public static final int MAX_FRAGMENTS = 256;

  private CoordinatorMessages() {}

  /** One fragment to place: its index in the pack, id and size. */
  public record Wanted(int index, String fragmentId, long size) {
    public Wanted {
      if (index < 0 || index >= MAX_FRAGMENTS) {
        throw new IllegalArgumentException("fragment index must be 0..255, got " + index);
      }
      new FragmentId(fragmentId);
      if (size < 1) {
        throw new IllegalArgumentException("fragment size must be >= 1, got " + size);
      }
    }
  }

  /** Where one fragment goes, with the order (text and coordinator signature) the holder needs. */
  public record Assignment(int index, String holderId, String endpoint, String order, String signature) {}

  /**
   * A worker asks for a placement; signed with the worker's key named {@code worker}.
   *
   * @param placedOn holders already holding fragments of this pack
   * @param failedOn holders that just failed for this pack
   */
  public record PlacementRequest(String type, String worker, long timestampMillis, String packId, int blockSize,
      List<Wanted> fragments, List<String> placedOn, List<String> failedOn, int parityFragments) {
    public PlacementRequest {
      if (!PLACEMENT_REQUEST.equals(type)) {
        throw new IllegalArgumentException("message type must be " + PLACEMENT_REQUEST + ", got " + type);
      }
      if (worker == null || worker.isEmpty() || packId == null || packId.isEmpty()) {
        throw new IllegalArgumentException("worker and packId are required");
      }
      if (fragments == null || fragments.isEmpty() || fragments.size() > MAX_FRAGMENTS) {
        throw new IllegalArgumentException("a placement asks for 1 to " + MAX_FRAGMENTS + " fragments");
      }
      if (blockSize < 512 || blockSize > (16 << 20)) {
        throw new IllegalArgumentException("block size must be 512 B to 16 MiB, got " + blockSize);
      }
      fragments = List.copyOf(fragments);
      placedOn = placedOn == null ? List.of() : List.copyOf(placedOn);
      failedOn = failedOn == null ? List.of() : List.copyOf(failedOn);
      if (parityFragments < 0 || parityFragments > MAX_FRAGMENTS) {
        throw new IllegalArgumentException("parityFragments must be 0 (unknown) to " + MAX_FRAGMENTS + ", got "
            + parityFragments);
      }
      if (placedOn.size() + failedOn.size() > 4 * MAX_FRAGMENTS) {
        throw new IllegalArgumentException("too many holders listed");
      }
    }
  }

  /**
   * {@code GET /v1/policy}: what the coordinator counts as live and its failure-domain limits
   * (negative: the default for each code), so that the drain judges packs as repair does.
   */
  public record Policy(long liveWithinMillis, int perNetwork, int perWiderNetwork, int perOperator) {
    public Policy {
      if (liveWithinMillis <= 0) {
        throw new IllegalArgumentException("liveWithinMillis must be > 0, got " + liveWithinMillis);
      }
      new DomainLimits(perNetwork, perWiderNetwork, perOperator);
    }

    public DomainLimits limits() {
      return new DomainLimits(perNetwork, perWiderNetwork, perOperator);
    }
  }

  /** The coordinator's answer: one assignment per wanted fragment. */
  public record PlacementGrant(List<Assignment> assignments) {
    public PlacementGrant {
      assignments = List.copyOf(assignments);
    }
  }
}
