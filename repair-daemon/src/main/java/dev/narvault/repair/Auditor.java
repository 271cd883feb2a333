package dev.narvault.repair;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
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
 * Proof of reach and proof of storage that never run out. Each round, every holder heard from
 * (and not disqualified) is first proven at its endpoint ({@link EndpointProver}: connected back
 * to, its key shown there, its address refreshed — addresses change), then asked for one random
 * block of one random copy it keeps, checked against the block hash in the pack's signed manifest.
 * Nothing is prepared in advance, so there is no pool of challenges to exhaust. The read carries a
 * signed {@code audit} order, so a holder whose monthly upload quota is used still answers it and
 * does not count it.
 *
 * <p>Outcomes are told apart, as Storj does: wrong bytes, or "not found" for a copy the catalog
 * says it keeps, fail the audit ({@link AuditScore}, slow to forget; that one copy counts as lost
 * at once). A timeout, a refused connection or any other status (a volunteer's reverse proxy
 * answering 502) is honest trouble: it moves the recoverable suspension score only. A holder that
 * cannot be proven reachable is not audited, and after {@code --offline-after} it is offline even
 * while it heartbeats. Suspect holders keep being audited, so they can climb back. A holder away
 * by its own word ({@code POST /v1/away}) that can no longer be reached is left alone until it
 * is back (no heartbeat for {@link #AWAY_QUIET}): a declared absence costs no suspension.
 */
public final class Auditor {
  private static final Logger LOG = LoggerFactory.getLogger(Auditor.class);

  /** A holder away by its word that has not heartbeated for this long has left as it said. */
  static final java.time.Duration AWAY_QUIET = java.time.Duration.ofMinutes(10);

  /** What one audit of one copy showed. */
  public enum Outcome { PASSED, FAILED, TROUBLE }

  private final Catalog catalog;
  private final HolderClient holders;
  private final ManifestCache manifests;
  private final HolderRules rules;
  private final EndpointProver prover;
  private final CoordinatorMetrics metrics;
  private final InstantSource clock;
  private final NixSecretKey coordinatorKey;
  private final SharedWork shared;
  private final java.time.Duration interval;
  private final SecureRandom random = new SecureRandom();

  /**
   * @param shared the leases this coordinator shares the audits through
   * @param interval how often each holder is audited, by whichever coordinator comes first
   */
  Auditor(Catalog catalog, HolderClient holders, ManifestCache manifests, HolderRules rules, EndpointProver prover,
      CoordinatorMetrics metrics, InstantSource clock, NixSecretKey coordinatorKey, SharedWork shared,
      java.time.Duration interval) {
    this.shared = shared;
    this.interval = interval;
    this.catalog = catalog;
    this.holders = holders;
    this.manifests = manifests;
    this.rules = rules;
    this.prover = prover;
    this.metrics = metrics;
    this.clock = clock;
    this.coordinatorKey = coordinatorKey;
  }

  /** Audit results and scrub reports are kept this long (the scores themselves live on). */
  static final java.time.Duration HISTORY_KEPT = java.time.Duration.ofDays(30);

  /**
   * Holders proven and audited at once. A vanished holder holds its audit for the proof's
   * timeout (10 s): one at a time, 100 of them in 10^4 (1 %) added 1000 s to every round
   * ({@code bench coordinator}); at 16, about 60 s. Each holder is still audited once a round.
   */
  static final int AT_ONCE = 16;

  /** Audit claims are leases named this, then the holder id. */
  static final String CLAIM = "audit ";
  /** The lease of pruning the history, once per interval by one coordinator. */
  static final String HISTORY = "audit-history";

  /**
   * One round over every holder heard from that is due: returns how many audits failed. Several
   * coordinators on one catalog share the holders: each holder is claimed ({@link SharedWork},
   * lease {@value #CLAIM}{@code <holder>}) for its proof and audit, and marked due again one
   * interval after this round began, so whichever coordinator comes first audits it, once per
   * interval. Holders are taken in a random order, so coordinators whose rounds overlap spread
   * over them instead of queueing behind one another.
   */
  public int auditOnce() throws CatalogException {
    long start = clock.millis();
    long next = start + interval.toMillis();
    shared.run(HISTORY, next, held -> catalog.registry().pruneHistory(start - HISTORY_KEPT.toMillis()));
    java.util.Set<String> taken = shared.unavailable(CLAIM);
    java.util.List<HolderRecord> all = new java.util.ArrayList<>(catalog.holders());
    java.util.Collections.shuffle(all, random);
    java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<CatalogException> broken = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(AT_ONCE);
    try (var audits = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (HolderRecord holder : all) {
        if (Thread.currentThread().isInterrupted() || broken.get() != null) {
          break;
        }
        if (!rules.heard(holder, clock.millis()) || holder.disqualified()) {
          continue;
        }
        if (rules.away(holder, clock.millis()) && clock.millis() - holder.lastSeenMillis() > AWAY_QUIET.toMillis()) {
          // Away by its word and gone quiet (no heartbeat for minutes): not proven, audited or marked
          // down until it is back (its heartbeat proves it again). One that declared an absence and
          // still heartbeats is audited like any other: up and failing is not away.
          continue;
        }
        String claim = CLAIM + holder.holderId().value();
        if (taken.contains(claim)) {
          continue; // audited this interval, or being audited, by this coordinator or another
        }
        try {
          slots.acquire();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
        audits.submit(() -> {
          try {
            if (shared.run(claim, next, held -> proveAndAudit(holder)).orElse(Outcome.PASSED) == Outcome.FAILED) {
              failed.incrementAndGet();
            }
          } catch (CatalogException e) {
            broken.compareAndSet(null, e);
          } catch (RuntimeException e) {
            // One holder's odd record must not end the round silently, nor stop the others.
            LOG.error("audit of holder {} failed: {}", holder.holderId(), e.toString(), e);
          } finally {
            slots.release();
          }
        });
      }
    } // waits for the audits under way (an interrupted round stops them)
    if (broken.get() != null) {
      throw broken.get();
    }
    return failed.get();
  }

  /** Proves one holder's endpoint and, if reached, audits one random copy it keeps. */
  private Outcome proveAndAudit(HolderRecord holder) throws CatalogException {
    if (!proveReach(holder)) {
      return Outcome.TROUBLE;
    }
    byte[] start = new byte[32];
    random.nextBytes(start);
    Optional<FragmentPlacement> picked = catalog.custody().auditableFragmentNear(holder.holderId(),
        HexFormat.of().formatHex(start));
    if (picked.isEmpty()) {
      // Nothing to audit: the proof is all it can show, and counts as an answer, so an empty
      // holder recovers from suspension and can be given fragments again.
      catalog.registry().recordContact(holder.holderId(), true, clock.millis());
      return Outcome.PASSED;
    }
    return audit(holder, picked.get());
  }

  /** Proves the holder's endpoint now; records the outcome. True when it was reached. */
  boolean proveReach(HolderRecord holder) throws CatalogException {
    long now = clock.millis();
    try {
      NixPublicKey key = NixPublicKey.parse(holder.publicKey().orElseThrow(() -> new IOException("no key")));
      String address = prover.prove(URI.create(holder.endpoint()), key);
      if (!address.equals(holder.seenAddress())) {
        LOG.info("holder {}: endpoint {} now proven at {} (was {})", holder.holderId(), holder.endpoint(), address,
            holder.seenAddress());
      }
      catalog.registry().recordProof(holder.holderId(), address, now);
      return true;
    } catch (EndpointProver.RefusedEndpointException | IOException | IllegalArgumentException e) {
      if (Thread.currentThread().isInterrupted()) {
        return false; // the coordinator is stopping: not the holder's doing
      }
      var score = catalog.registry().recordContact(holder.holderId(), false, now);
      metrics.proofsFailed.increment();
      LOG.info("holder {} ({}) not reached: {}; suspension score {}", holder.holderId(), holder.endpoint(),
          e.getMessage(), String.format("%.3f", score.value()));
      return false;
    }
  }

  /**
   * Audits one random block of one copy on a holder (stored, unverified or superseded) and records
   * the outcome: a pass also promotes an unverified copy to stored.
   */
  public Outcome audit(HolderRecord holder, FragmentPlacement f) throws CatalogException {
    long now = clock.millis();
    Manifest manifest = manifests.get(f.packId());
    PackLayout layout = manifest.layout();
    int block = random.nextInt(layout.blockCount());
    Manifest.Fragment fragment = manifest.fragments().get(f.fragmentIndex());
    String detail;
    boolean passed;
    try {
      int length = layout.blockLength(block);
      Order.Signed order = new Order(Order.Action.AUDIT, fragment.id(), length, 0, holder.holderId().value(),
          clock.instant().plus(PlacementService.ORDER_LIFETIME)).signWith(coordinatorKey);
      byte[] bytes = holders.auditRead(URI.create(dev.narvault.core.holder.HolderEndpoints.pinned(holder.endpoint(), holder.seenAddress())),
          fragment.id(), (long) block * layout.blockSize(), length, order);
      passed = fragment.blockHashes().matches(block, bytes, 0, bytes.length);
      detail = passed ? "block " + block + " matches" : "block " + block + " does not match the manifest";
    } catch (HolderRefusedException e) {
      if (e.status() != 404) {
        return trouble(holder, "block " + block + ": " + e.getMessage(), now);
      }
      passed = false;
      detail = "block " + block + ": not found (" + e.getMessage() + ")";
    } catch (IOException e) {
      if (Thread.currentThread().isInterrupted()) {
        return Outcome.TROUBLE; // the coordinator is stopping: nothing recorded against the holder
      }
      return trouble(holder, e.getMessage(), now);
    }
    AuditScore score = catalog.recordAudit(holder.holderId(), fragment.id().hex(), passed, detail, now);
    if (passed) {
      metrics.auditsPassed.increment();
      return Outcome.PASSED;
    }
    metrics.auditsFailed.increment();
    LOG.warn("audit of holder {} ({}) on fragment {} failed: {}; score now {}", holder.holderId(),
        holder.endpoint(), fragment.id(), detail, String.format("%.4f", score.value()));
    return Outcome.FAILED;
  }

  private Outcome trouble(HolderRecord holder, String why, long now) throws CatalogException {
    var score = catalog.registry().recordContact(holder.holderId(), false, now);
    metrics.auditsTrouble.increment();
    LOG.info("audit of holder {} ({}) not answered: {}; suspension score {}", holder.holderId(), holder.endpoint(),
        why, String.format("%.3f", score.value()));
    return Outcome.TROUBLE;
  }
}
