package dev.narvault.repair;

import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.LeaseLostException;
import dev.narvault.core.catalog.Leases;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This coordinator's side of the work several coordinators share through one catalog: it takes
 * {@linkplain Leases leases} under its stable owner name, keeps them renewed while it works, and
 * lets them go saying when the work is next due. A round that must not run twice ({@code gc},
 * {@code rebalance}, {@code documents}, {@code counted-bytes}) runs under a lease of its own
 * name ({@link #run}); a round spread over coordinators (audits) takes one lease per item.
 *
 * <p>A lease lasts {@link #LEASE}, is renewed every quarter of that from the side while it is
 * held, and is confirmed ({@link Held#check}) right before each step of a round that cannot be
 * undone (a DELETE sent to a holder, a copy superseded, a count saved): a round whose lease
 * another coordinator took over stops there. Times are this coordinator's clock; a lease is taken
 * over only after it expired by the taker's clock, so this is safe while coordinators' clocks
 * differ by less than a lease's lifetime minus the time from a check to the step it guards (one
 * request, at most 30 seconds): far more than {@code --max-clock-skew} (5 minutes) allows.
 */
final class SharedWork {
  private static final Logger LOG = LoggerFactory.getLogger(SharedWork.class);

  /** How long a lease lasts unrenewed: how long the work of a coordinator that died waits. */
  static final Duration LEASE = Duration.ofMinutes(10);

  private final Leases leases;
  private final String owner;
  private final InstantSource clock;

  SharedWork(Leases leases, String owner, InstantSource clock) {
    this.leases = leases;
    this.owner = owner;
    this.clock = clock;
  }

  /** This coordinator's stable name on leases and pack claims. */
  String owner() {
    return owner;
  }

  /** A round's work under a held lease. */
  @FunctionalInterface
  interface Round<T> {
    T run(Held held) throws CatalogException;
  }

  /**
   * Runs {@code round} if its work is due and no other coordinator holds its lease; once it is
   * done the work is next due at {@code nextDueMillis}. Empty when it did not run, or when it
   * stopped because another coordinator took its lease over (which then does the work).
   */
  <T> Optional<T> run(String name, long nextDueMillis, Round<T> round) throws CatalogException {
    Optional<Held> taken = take(name);
    if (taken.isEmpty()) {
      return Optional.empty();
    }
    try (Held held = taken.get()) {
      T result = round.run(held);
      held.done(nextDueMillis);
      return Optional.of(result);
    } catch (LeaseLostException e) {
      LOG.warn("{}: stopped, another coordinator has the work now: {}", name, e.getMessage());
      return Optional.empty();
    }
  }

  /** Takes the lease {@code name} if its work is due and nobody else holds it. */
  Optional<Held> take(String name) throws CatalogException {
    long now = clock.millis();
    if (!leases.take(name, owner, now, now + LEASE.toMillis())) {
      return Optional.empty();
    }
    return Optional.of(new Held(name, now));
  }

  /** The leases beginning with {@code prefix} this coordinator cannot take now (see {@link Leases#unavailable}). */
  Set<String> unavailable(String prefix) throws CatalogException {
    return leases.unavailable(prefix, owner, clock.millis());
  }

  /**
   * A lease this coordinator holds, renewed from the side until closed. Closing it lets it go:
   * its work is next due when {@link #done} said, or at once if the work was not done.
   */
  final class Held implements AutoCloseable {
    private final String name;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean lost = new AtomicBoolean();
    private final Thread renewal;
    private volatile long dueMillis;

    private Held(String name, long takenMillis) {
      this.name = name;
      this.dueMillis = takenMillis;
      // Stopped by a flag, not an interrupt, which would close a catalog connection mid-call.
      this.renewal = Thread.ofVirtual().name("lease-renewal " + name).start(() -> {
        while (true) {
          LockSupport.parkNanos(LEASE.dividedBy(4).toNanos());
          if (closed.get()) {
            return;
          }
          try {
            if (!renew()) {
              return;
            }
          } catch (CatalogException e) {
            LOG.warn("{}: could not renew the lease, will try again: {}", name, e.getMessage());
          }
        }
      });
    }

    private boolean renew() throws CatalogException {
      if (leases.renew(name, owner, clock.millis() + LEASE.toMillis())) {
        return true;
      }
      lost.set(true);
      return false;
    }

    /**
     * Confirms, in the catalog, that this coordinator still holds the lease (renewing it), before
     * a step that cannot be undone. Throws when another coordinator took it over.
     */
    void check() throws CatalogException {
      if (lost.get() || !renew()) {
        throw new LeaseLostException("the lease " + name + " of " + owner + " was taken over by another coordinator");
      }
    }

    /** The work is done: it is next due at {@code nextDueMillis}. */
    void done(long nextDueMillis) {
      dueMillis = nextDueMillis;
    }

    @Override
    public void close() {
      closed.set(true);
      LockSupport.unpark(renewal);
      if (lost.get()) {
        return;
      }
      try {
        leases.release(name, owner, dueMillis);
      } catch (CatalogException e) {
        // It expires on its own; its work is due again then.
        LOG.warn("{}: could not release the lease: {}", name, e.getMessage());
      }
    }
  }
}
