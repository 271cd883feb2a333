package dev.narvault.core.catalog;

/** A fragment of a pack placed on a holder. */
public record FragmentPlacement(String packId, int fragmentIndex, String fragmentId, String holderId,
    String endpoint, String state) {
  public static final String STORED = "stored";
}
