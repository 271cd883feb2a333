package dev.narvault.core.catalog;

import java.util.Optional;

/**
 * A holder as the catalog knows it: identity, where it answers and where it connects from, what
 * it reported last, its audit record, and whether it is leaving.
 *
 * @param seenAddress the IP address its signed registration came from (placement keeps /24s apart)
 * @param registeredMillis when it first registered (new holders may be vetted before use)
 * @param state {@link #ONLINE} or {@link #EXITING} (announced it is leaving; repair moves its fragments)
 */
public record HolderRecord(String holderId, String endpoint, Optional<String> publicKey, long capacityBytes,
    long usedBytes, int fragmentCount, String version, String operator, String location, long lastSeenMillis,
    String auditState, String seenAddress, long registeredMillis, AuditScore audit, String state) {
  public static final String AUDIT_OK = "ok";
  public static final String AUDIT_SUSPECT = "suspect";
  public static final String ONLINE = "online";
  public static final String EXITING = "exiting";

  /** A holder just registering: no history yet. */
  public static HolderRecord registering(String holderId, String endpoint, String publicKey, long capacityBytes,
      long usedBytes, int fragmentCount, String version, String operator, String location, long nowMillis,
      String seenAddress) {
    return new HolderRecord(holderId, endpoint, Optional.of(publicKey), capacityBytes, usedBytes, fragmentCount,
        version, operator, location, nowMillis, AUDIT_OK, seenAddress, nowMillis, AuditScore.NEW, ONLINE);
  }

  public long freeBytes() {
    return Math.max(0, capacityBytes - usedBytes);
  }

  public boolean exiting() {
    return EXITING.equals(state);
  }

  public boolean suspect() {
    return AUDIT_SUSPECT.equals(auditState);
  }
}
