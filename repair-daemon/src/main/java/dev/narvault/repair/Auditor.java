package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.PendingChallenge;
import dev.narvault.core.holder.AuditChallenge;
import dev.narvault.core.holder.HolderClient;
import java.io.IOException;
import java.net.URI;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proof of storage: each round, every registered holder gets one of the challenges the encoder
 * prepared for a fragment it stores. A wrong answer, or none, marks the holder suspect (its
 * fragments stop counting as healthy); a right one clears that.
 */
public final class Auditor {
  private static final Logger LOG = LoggerFactory.getLogger(Auditor.class);

  private final Catalog catalog;
  private final HolderClient holders;
  private final InstantSource clock;

  public Auditor(Catalog catalog, HolderClient holders, InstantSource clock) {
    this.catalog = catalog;
    this.holders = holders;
    this.clock = clock;
  }

  /** One round over every holder; returns how many audits failed. */
  public int auditOnce() throws CatalogException {
    int failed = 0;
    for (HolderRecord holder : catalog.holders()) {
      Optional<PendingChallenge> pending = catalog.takeChallenge(holder.holderId());
      if (pending.isEmpty()) {
        continue;
      }
      PendingChallenge c = pending.get();
      boolean passed;
      String detail;
      try {
        String answer = holders.audit(URI.create(holder.endpoint()), AuditChallenge.fromJson(c.challengeJson()));
        passed = MessageDigest.isEqual(answer.getBytes(StandardCharsets.US_ASCII),
            c.expectedAnswer().getBytes(StandardCharsets.US_ASCII));
        detail = passed ? "answer matches" : "wrong answer";
      } catch (IOException e) {
        passed = false;
        detail = e.getMessage();
      }
      catalog.recordAudit(holder.holderId(), c.fragmentId(), passed, detail, clock.millis());
      if (!passed) {
        failed++;
        LOG.warn("audit of holder {} ({}) on fragment {} failed: {}", holder.holderId(), holder.endpoint(),
            c.fragmentId(), detail);
      }
    }
    return failed;
  }
}
