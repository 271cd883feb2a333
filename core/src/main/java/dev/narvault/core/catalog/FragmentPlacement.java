package dev.narvault.core.catalog;

/**
 * A fragment of a pack placed on a holder.
 *
 * @param state {@link #STORED}; {@link #CORRUPT} (reported by the holder's scrub, or it failed an
 *     audit or a verified read); {@link #SUPERSEDED} (repair rebuilt it elsewhere: a surplus copy
 *     to delete). Only stored fragments can count as healthy.
 */
public record FragmentPlacement(String packId, int fragmentIndex, String fragmentId, String holderId,
    String endpoint, String state) {
  public static final String STORED = "stored";
  public static final String CORRUPT = "corrupt";
  public static final String SUPERSEDED = "superseded";

  public boolean stored() {
    return STORED.equals(state);
  }
}
