package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * Another store path whose narinfo names a NAR object already stored in pack {@code packId}, with
 * the archive key's signatures over the canonical JSON of {@link Alias}. Manifests are immutable
 * once signed, so an alias found later is its own small signed document, stored on holders like a
 * manifest so that the catalog can be rebuilt from the holders alone.
 */
@JsonPropertyOrder(alphabetic = true)
public record SignedAlias(Alias alias, List<String> signatures) {
  /** The alias: the pack, and the NAR entry (the object's place, the alias's own narinfo). */
  @JsonPropertyOrder(alphabetic = true)
  public record Alias(String format, String packId, Manifest.Nar nar) {
    public static final String FORMAT = "narvault-alias/1";

    public Alias {
      if (!FORMAT.equals(format)) {
        throw new IllegalArgumentException("unsupported alias format '" + format + "', expected " + FORMAT);
      }
      if (packId == null || !packId.matches("[0-9a-f]{64}") || nar == null) {
        throw new IllegalArgumentException("an alias needs a pack id and a NAR");
      }
    }
  }

  public SignedAlias {
    if (alias == null) {
      throw new IllegalArgumentException("signed alias has no alias");
    }
    signatures = List.copyOf(signatures);
  }
}
