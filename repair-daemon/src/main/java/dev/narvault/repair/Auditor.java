package dev.narvault.repair;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.repair.policy.HolderRules;
import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proof of storage that never runs out: each round, every live holder is asked for one random
 * block of one random fragment it stores, and the bytes are checked against the block hash in the
 * pack's signed manifest. Nothing is prepared in advance, so there is no pool of challenges to
 * exhaust; the cost is one block (64 KiB by default) per holder per round.
 *
 * <p>Wrong bytes, or "not found" for a fragment the catalog says it stores, fail the audit: the
 * holder's {@link AuditScore} drops and that copy counts as lost. A holder that cannot be reached
 * is not scored here: that is liveness, judged by its heartbeats.
 */
public final class Auditor {
  private static final Logger LOG = LoggerFactory.getLogger(Auditor.class);

  private final Catalog catalog;
  private final HolderClient holders;
  private final ManifestCache manifests;
  private final HolderRules rules;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;
  private final SecureRandom random = new SecureRandom();

  public Auditor(Catalog catalog, HolderClient holders, ManifestCache manifests, HolderRules rules,
      CoordinatorMetrics metrics, InstantSource clock) {
    this.catalog = catalog;
    this.holders = holders;
    this.manifests = manifests;
    this.rules = rules;
    this.metrics = metrics;
    this.clock = clock;
  }

  /** One round over every live holder; returns how many audits failed. */
  public int auditOnce() throws CatalogException {
    int failed = 0;
    for (HolderRecord holder : catalog.holders()) {
      if (!rules.live(holder, clock.millis())) {
        continue;
      }
      byte[] start = new byte[32];
      random.nextBytes(start);
      Optional<FragmentPlacement> picked = catalog.custody().storedFragmentNear(holder.holderId(),
          HexFormat.of().formatHex(start));
      if (picked.isEmpty()) {
        continue;
      }
      FragmentPlacement f = picked.get();
      Manifest manifest = manifests.get(f.packId());
      PackLayout layout = manifest.layout();
      int block = random.nextInt(layout.blockCount());
      Manifest.Fragment fragment = manifest.fragments().get(f.fragmentIndex());
      String detail;
      boolean passed;
      try {
        byte[] bytes = holders.read(URI.create(holder.endpoint()), fragment.id(), (long) block * layout.blockSize(),
            layout.blockLength(block));
        passed = fragment.blockHashes().matches(block, bytes, 0, bytes.length);
        detail = passed ? "block " + block + " matches" : "block " + block + " does not match the manifest";
      } catch (HolderRefusedException e) {
        passed = false;
        detail = "block " + block + ": " + e.getMessage();
      } catch (IOException e) {
        LOG.debug("audit of holder {} skipped, unreachable: {}", holder.holderId(), e.getMessage());
        continue;
      }
      AuditScore score = catalog.recordAudit(holder.holderId(), fragment.id().hex(), passed, detail, clock.millis());
      if (passed) {
        metrics.auditsPassed.increment();
      } else {
        failed++;
        metrics.auditsFailed.increment();
        LOG.warn("audit of holder {} ({}) on fragment {} failed: {}; score now {}", holder.holderId(),
            holder.endpoint(), fragment.id(), detail, String.format("%.3f", score.value()));
      }
    }
    return failed;
  }
}
