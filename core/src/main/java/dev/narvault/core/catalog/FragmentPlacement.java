package dev.narvault.core.catalog;

/**
 * A fragment of a pack placed on a holder.
 *
 * @param state see {@link FragmentState}. Only stored fragments count as healthy.
 */
public record FragmentPlacement(String packId, int fragmentIndex, String fragmentId, String holderId,
    String endpoint, FragmentState state) {
  public boolean stored() {
    return state == FragmentState.STORED;
  }
}
