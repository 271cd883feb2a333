package dev.narvault.core.catalog;

import dev.narvault.core.holder.HolderId;
import java.util.Optional;

/**
 * A holder as the catalog knows it: identity, where it answers and at which proven address, what
 * it reported last, its reputation, and whether it is leaving.
 *
 * @param seenAddress the address the coordinator proved the holder's endpoint at (its resolved
 *     address, connected back to, the holder's key shown there); placement's failure domains come
 *     from it. Empty until proven.
 * @param registeredMillis when it first registered (vetting counts from here)
 * @param lastSeenMillis when its last signed heartbeat or registration arrived
 * @param auditState {@link AuditState#OK}, {@link AuditState#SUSPECT} or {@link AuditState#DISQUALIFIED} (for good)
 * @param state {@link HolderStatus#ONLINE} or {@link HolderStatus#EXITING} (announced it is leaving; repair moves
 *     its fragments)
 * @param reachedMillis when the coordinator last reached its endpoint (a proof, an audit answered)
 * @param suspension its record of timeouts, refusals and 5xx answers
 * @param auditsPassed audits it has passed, ever (vetting counts them)
 * @param away its declared absence, if any, and the away time it has left
 */
public record HolderRecord(HolderId holderId, String endpoint, Optional<String> publicKey, long capacityBytes,
    long usedBytes, int fragmentCount, String version, String operator, String location, long lastSeenMillis,
    AuditState auditState, String seenAddress, long registeredMillis, AuditScore audit, HolderStatus state,
    long reachedMillis, SuspensionScore suspension, long auditsPassed, HolderAway away) {
  /** A holder just registering: no history yet, its endpoint proven at {@code provenAddress} now. */
  public static HolderRecord registering(HolderId holderId, String endpoint, String publicKey, long capacityBytes,
      long usedBytes, int fragmentCount, String version, String operator, String location, long nowMillis,
      String provenAddress) {
    return new HolderRecord(holderId, endpoint, Optional.of(publicKey), capacityBytes, usedBytes, fragmentCount,
        version, operator, location, nowMillis, AuditState.OK, provenAddress, nowMillis, AuditScore.NEW,
        HolderStatus.ONLINE, nowMillis, SuspensionScore.NEW, 0, HolderAway.NONE);
  }

  public long freeBytes() {
    return Math.max(0, capacityBytes - usedBytes);
  }

  public boolean exiting() {
    return state == HolderStatus.EXITING;
  }

  /** Its audits fell below the suspect line: no new fragments, its own still count. */
  public boolean suspect() {
    return auditState == AuditState.SUSPECT;
  }

  /** Disqualified for good: its fragments no longer count. */
  public boolean disqualified() {
    return auditState == AuditState.DISQUALIFIED;
  }

  public boolean suspended() {
    return suspension.suspended();
  }
}
