package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.holder.HolderId;
/**
 * A fragment of a pack placed on a holder.
 *
 * @param state see {@link FragmentState}. Only stored fragments count as healthy.
 */
public record FragmentPlacement(PackId packId, int fragmentIndex, String fragmentId, HolderId holderId,
    String endpoint, FragmentState state) {
  public boolean stored() {
    return state == FragmentState.STORED;
  }
}
