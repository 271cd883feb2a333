package dev.narvault.core.catalog;

/**
 * A fragment of a pack placed on a holder.
 *
 * @param state {@link #STORED}; {@link #CORRUPT} (reported by the holder's scrub, or it failed an
 *     audit or a verified read: its good blocks may still be read, verified); {@link #SUPERSEDED}
 *     (repair rebuilt it elsewhere: a surplus copy, kept as a repair and read source until its
 *     pack is whole without it); {@link #UNVERIFIED} (restored by a catalog rebuild from a
 *     holder's listing: counts once it passes an audit). Only stored fragments count as healthy.
 */
public record FragmentPlacement(String packId, int fragmentIndex, String fragmentId, String holderId,
    String endpoint, String state) {
  public static final String STORED = "stored";
  public static final String CORRUPT = "corrupt";
  public static final String SUPERSEDED = "superseded";
  public static final String UNVERIFIED = "unverified";

  public boolean stored() {
    return STORED.equals(state);
  }
}
