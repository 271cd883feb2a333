package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/** A manifest with the archive key's signatures ({@code name:base64}) over its canonical JSON. */
@JsonPropertyOrder(alphabetic = true)
public record SignedManifest(Manifest manifest, List<String> signatures) {
  public SignedManifest {
    if (manifest == null) {
      throw new IllegalArgumentException("signed manifest has no manifest");
    }
    signatures = List.copyOf(signatures);
  }
}
