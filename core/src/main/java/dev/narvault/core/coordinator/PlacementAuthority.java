package dev.narvault.core.coordinator;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.util.Collection;
import java.util.List;

/**
 * Decides where fragments go and signs the orders holders need: the coordinator. Over HTTP for
 * migrate workers ({@link PlacementClient}), in process for the coordinator's own repair.
 */
public interface PlacementAuthority {
  /**
   * Holders for {@code wanted} fragments of one pack, one order each.
   *
   * @param parityFragmentCount m of the pack's code: the failure-domain limits follow from it
   *     (0 when unknown: the strictest limits, one fragment per wider network and operator)
   * @param placedOn holders that already hold a fragment of this pack: none of them may get
   *     another, and their domains count towards the pack's limits
   * @param failedOn holders that failed for this pack just now: not to be asked again
   * @throws PlacementException when the placement rules cannot be met by the holders available
   */
  List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
      List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
      throws IOException;

  /**
   * The coordinator's liveness window and failure-domain limits ({@code GET /v1/policy}): a drain
   * judges whether a pack is safely placed by them, as repair does. Only authorities a drain asks
   * need to answer; by default this fails.
   *
   * @throws IOException when the coordinator cannot say
   */
  default CoordinatorMessages.Policy policy() throws IOException {
    throw new IOException(getClass().getSimpleName() + " does not publish its policy");
  }
}
