package dev.narvault.repair;

import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.Leases;
import java.time.Duration;
import java.time.InstantSource;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One process per owner name. Pack claims and leases are keyed by a coordinator's stable owner
 * name, so that a restarted coordinator takes its own back at once; two processes running under
 * one name (one {@code --owner} in two units, a cloned machine or a copied work directory) would
 * each take the other's claims as their own and repair or collect one pack at the same time. So
 * a coordinator holds the lease {@code instance <owner>} for a random id of its own while it runs,
 * renewed every {@link #RENEW}; another process of that name waits for it at start, and a
 * coordinator that lost it (not renewed for {@link #LEASE}: a long pause, the catalog away) runs
 * no round until it holds it again.
 */
final class InstanceGuard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(InstanceGuard.class);

  /** How long the lease lasts unrenewed: what a crashed coordinator's restart may wait. */
  static final Duration LEASE = Duration.ofSeconds(60);
  static final Duration RENEW = Duration.ofSeconds(15);
  static final String PREFIX = "instance ";

  private final Leases leases;
  private final String name;
  private final String id = "pid-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID();
  private final InstantSource clock;
  private volatile boolean held;
  private volatile boolean closed;
  private Thread renewal;

  private InstanceGuard(Leases leases, String owner, InstantSource clock) {
    this.leases = leases;
    this.name = PREFIX + owner;
    this.clock = clock;
  }

  /**
   * Takes the lease of {@code owner}'s instance, waiting up to {@code maxWait} (real time) while
   * another process holds it, then keeps it renewed until closed.
   *
   * @throws IllegalStateException when another process still holds it after {@code maxWait}
   */
  static InstanceGuard acquire(Leases leases, String owner, InstantSource clock, Duration maxWait)
      throws CatalogException {
    InstanceGuard guard = new InstanceGuard(leases, owner, clock);
    long deadline = System.nanoTime() + maxWait.toNanos();
    boolean warned = false;
    while (!guard.take()) {
      if (System.nanoTime() >= deadline) {
        throw new IllegalStateException("another coordinator runs under the owner name '" + owner + "' on this "
            + "catalog (or one stopped less than " + LEASE.toSeconds() + " s ago without letting go): give each "
            + "coordinator its own --owner or --work-dir; two of one name would repair and collect the same packs");
      }
      if (!warned) {
        LOG.warn("another coordinator holds the owner name '{}' on this catalog; waiting up to {} s for it to let go",
            owner, maxWait.toSeconds());
        warned = true;
      }
      LockSupport.parkNanos(Math.min(RENEW.toNanos(), Math.max(1, deadline - System.nanoTime())));
    }
    guard.renewal = Thread.ofVirtual().name("instance-lease").start(guard::keep);
    return guard;
  }

  private boolean take() throws CatalogException {
    long now = clock.millis();
    held = leases.take(name, id, now, now + LEASE.toMillis());
    return held;
  }

  /** Renews the lease every {@link #RENEW}; once lost, tries to take it back. */
  private void keep() {
    while (!closed) {
      LockSupport.parkNanos(RENEW.toNanos());
      if (closed) {
        return;
      }
      try {
        boolean was = held;
        held = leases.renew(name, id, clock.millis() + LEASE.toMillis()) || take();
        if (was && !held) {
          LOG.error("lost the lease on the owner name {} (another process of that name took it, or it was not "
              + "renewed for {} s): no repair, audit or collection round runs until it is back", name,
              LEASE.toSeconds());
        } else if (!was && held) {
          LOG.info("holds the owner name {} again", name);
        }
      } catch (CatalogException e) {
        LOG.warn("could not renew the lease on the owner name {}: {}", name, e.getMessage());
      }
    }
  }

  /** True while this process holds its owner name: rounds run only then. */
  boolean held() {
    return held;
  }

  @Override
  public void close() {
    closed = true;
    if (renewal != null) {
      LockSupport.unpark(renewal);
    }
    if (held) {
      try {
        leases.release(name, id, 0);
      } catch (CatalogException e) {
        LOG.warn("could not let go of the owner name {}: it runs out in {} s", name, LEASE.toSeconds());
      }
    }
  }
}
