package dev.narvault.core.catalog;

import java.util.Optional;

/**
 * A holder as the catalog knows it: identity, where it answers, what it reported last, and
 * whether its audits pass.
 */
public record HolderRecord(String holderId, String endpoint, Optional<String> publicKey, long capacityBytes,
    long usedBytes, int fragmentCount, String version, String operator, String location, long lastSeenMillis,
    String auditState) {
  public static final String AUDIT_OK = "ok";
  public static final String AUDIT_SUSPECT = "suspect";
}
