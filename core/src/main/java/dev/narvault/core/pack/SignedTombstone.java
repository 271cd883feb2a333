package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * A store path the archive forgets (a takedown: a leaked secret, a legal request, the operators'
 * own decision), with the archive key's signatures over the canonical JSON of {@link Tombstone}.
 * Stored on holders like a manifest or an alias, so that a catalog rebuilt from the holders keeps
 * the path forgotten; only a tombstone a trusted archive key signed counts. The tombstone is under
 * {@code forgotten}, which sorts before {@code signatures}, so that a stored tombstone begins with
 * {@code {"forgotten":{} (canonical JSON sorts keys) and a rebuild can tell it from its first bytes.
 */
@JsonPropertyOrder(alphabetic = true)
public record SignedTombstone(Tombstone forgotten, List<String> signatures) {
  /**
   * What is forgotten: the store path (by its hash), the NAR object it named as the catalog
   * recorded it (S3 key, FileHash, NarHash), the pack it lies in, why and when.
   */
  @JsonPropertyOrder(alphabetic = true)
  public record Tombstone(String format, String storeHash, String fileKey, String fileHash, String narHash,
      String packId, String reason, long forgottenMillis) {
    public static final String FORMAT = "narvault-tombstone/1";
    /** The longest reason kept: a sentence or a reference to a ticket, not a document. */
    public static final int MAX_REASON = 1000;

    public Tombstone {
      if (!FORMAT.equals(format)) {
        throw new IllegalArgumentException("unsupported tombstone format '" + format + "', expected " + FORMAT);
      }
      if (storeHash == null || !storeHash.matches("[0-9a-df-np-sv-z]{32}")) {
        throw new IllegalArgumentException("a tombstone needs a store hash (32 Nix base-32 characters), got '"
            + storeHash + "'");
      }
      if (fileKey == null || fileKey.isEmpty() || fileHash == null || narHash == null) {
        throw new IllegalArgumentException("a tombstone needs the NAR's S3 key, FileHash and NarHash");
      }
      if (packId == null || !packId.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("a tombstone needs a pack id, got '" + packId + "'");
      }
      if (reason == null || reason.isBlank() || reason.length() > MAX_REASON) {
        throw new IllegalArgumentException("a tombstone needs a reason of 1 to " + MAX_REASON + " characters");
      }
      if (forgottenMillis < 0) {
        throw new IllegalArgumentException("bad tombstone time " + forgottenMillis);
      }
    }
  }

  public SignedTombstone {
    if (forgotten == null) {
      throw new IllegalArgumentException("signed tombstone has no tombstone");
    }
    signatures = List.copyOf(signatures);
  }
}
