package dev.narvault.core.coordinator;

import dev.narvault.core.holder.FragmentBytes;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.Order;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts fragments of one pack on the holders the coordinator chose. All go out at once; each
 * upload carries its signed order and is confirmed by asking the holder for the stored length.
 * Fragments whose holder failed are placed again, on holders the coordinator picks with the
 * failed ones excluded, for up to {@value #ROUNDS} rounds.
 */
public final class FragmentPlacer {
  private static final Logger LOG = LoggerFactory.getLogger(FragmentPlacer.class);
  static final int ROUNDS = 4;
  private static final String UNREADABLE = " cannot be read here: ";

  /**
   * Uploads in flight in this process, all placers together: platform threads (an upload sent by
   * sendfile from a virtual thread went through a copy loop instead, the socket being non-blocking
   * under it, at twice the CPU), bounded so that many packs of up to 256 fragments placed at once
   * queue rather than start thousands of threads.
   */
  static final int MAX_UPLOADS = 64;
  private static final ExecutorService UPLOADS = uploadThreads();

  private static ExecutorService uploadThreads() {
    java.util.concurrent.ThreadPoolExecutor pool = new java.util.concurrent.ThreadPoolExecutor(MAX_UPLOADS,
        MAX_UPLOADS, 30, java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(),
        Thread.ofPlatform().daemon().name("fragment-put-", 0).factory());
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  private final PlacementAuthority authority;
  private final HolderClient client;

  public FragmentPlacer(PlacementAuthority authority, HolderClient client) {
    this.authority = authority;
    this.client = client;
  }

  /** A fragment to place: its index in the pack, id and its bytes. */
  public record Fragment(int index, FragmentId id, FragmentBytes bytes) {
    /** A fragment whose bytes are a file of their own. */
    public Fragment(int index, FragmentId id, Path file) throws IOException {
      this(index, id, FragmentBytes.of(file));
    }
  }

  /** Where a fragment went. */
  public record Placed(int index, HolderId holderId, URI endpoint) {}

  /**
   * Places every fragment; the answer is in the order given.
   *
   * @param parityFragmentCount m of the pack's code, for its failure-domain limits
   * @param alreadyOn holders already holding other fragments of the pack (repair), kept apart
   * @throws IOException when some fragment found no holder within the rounds, or the coordinator
   *     cannot place at all
   */
  public List<Placed> place(PackId packId, int parityFragmentCount, int blockSize, List<Fragment> fragments,
      Set<HolderId> alreadyOn) throws IOException {
    Outcome outcome = placeSome(packId, parityFragmentCount, blockSize, fragments, alreadyOn);
    if (outcome.placed().size() < fragments.size()) {
      int left = fragments.size() - outcome.placed().size();
      throw new IOException("pack " + packId.shortForm() + ": " + left + (outcome.lastFailure().contains(UNREADABLE)
          ? " fragments not placed: " + outcome.lastFailure()
          : " fragments found no holder after " + ROUNDS + " rounds (last: " + outcome.lastFailure() + ")"));
    }
    Map<Integer, Placed> byIndex = new HashMap<>();
    outcome.placed().forEach(p -> byIndex.put(p.index(), p));
    return fragments.stream().map(f -> byIndex.get(f.index())).toList();
  }

  /** What {@link #placeSome} achieved: the fragments placed, and why the others were not. */
  public record Outcome(List<Placed> placed, String lastFailure) {}

  /**
   * Places as many fragments as the holders and the rules allow now, for up to {@value #ROUNDS}
   * rounds, and says which: repair commits what was placed instead of throwing it away. A
   * coordinator that cannot place any more (the rules leave no holder) ends the rounds early.
   */
  public Outcome placeSome(PackId packId, int parityFragmentCount, int blockSize, List<Fragment> fragments,
      Set<HolderId> alreadyOn) throws IOException {
    List<Placed> placed = new ArrayList<>();
    Set<HolderId> placedOn = new LinkedHashSet<>(alreadyOn);
    Set<HolderId> failedOn = new LinkedHashSet<>();
    List<Fragment> pending = new ArrayList<>(fragments);
    String lastFailure = "";
    boolean unreadable = false;
    for (int round = 0; round < ROUNDS && !pending.isEmpty(); round++) {
      List<CoordinatorMessages.Wanted> wanted = new ArrayList<>();
      for (Fragment f : pending) {
        wanted.add(new CoordinatorMessages.Wanted(f.index(), f.id().hex(), f.bytes().size()));
      }
      List<CoordinatorMessages.Assignment> assignments;
      try {
        assignments = authority.place(packId, parityFragmentCount, blockSize, wanted, placedOn, failedOn);
      } catch (PlacementException e) {
        if (placed.isEmpty() && round == 0 && pending.size() == fragments.size()) {
          throw e;
        }
        lastFailure = e.getMessage();
        break;
      }
      List<Future<?>> uploads = new ArrayList<>();
      try {
        for (int i = 0; i < pending.size(); i++) {
          Fragment f = pending.get(i);
          CoordinatorMessages.Assignment a = assignments.get(i);
          uploads.add(UPLOADS.submit(() -> {
            upload(f, a, blockSize);
            return null;
          }));
        }
        List<Fragment> again = new ArrayList<>();
        for (int i = 0; i < pending.size(); i++) {
          Fragment f = pending.get(i);
          CoordinatorMessages.Assignment a = assignments.get(i);
          try {
            uploads.get(i).get();
            placed.add(new Placed(f.index(), new HolderId(a.holderId()), URI.create(a.endpoint())));
            placedOn.add(new HolderId(a.holderId()));
          } catch (ExecutionException e) {
            if (readingHereFailed(e.getCause())) {
              // No holder is to blame and none would fare better: no more rounds, and what was
              // placed is still answered (repair commits it).
              lastFailure = "fragment " + f.index() + UNREADABLE + e.getCause().getMessage();
              LOG.warn("pack {}: {}", packId.shortForm(), lastFailure);
              unreadable = true;
              continue;
            }
            lastFailure = e.getCause().getMessage();
            LOG.warn("pack {}: fragment {} not placed on {} ({}): {}", packId.shortForm(), f.index(), a.holderId(),
                a.endpoint(), lastFailure);
            failedOn.add(new HolderId(a.holderId()));
            again.add(f);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while placing fragments");
          }
        }
        pending = unreadable ? List.of() : again;
      } finally {
        // Interrupted: the uploads still running stop (their sockets close); done ones are unaffected.
        uploads.forEach(u -> u.cancel(true));
      }
    }
    return new Outcome(List.copyOf(placed), lastFailure);
  }

  private static boolean readingHereFailed(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof FragmentBytes.SourceException) {
        return true;
      }
    }
    return false;
  }

  private void upload(Fragment f, CoordinatorMessages.Assignment a, int blockSize) throws IOException {
    URI endpoint = URI.create(a.endpoint());
    Order order = Order.parse(a.order());
    long expected = f.bytes().size();
    if (!order.fragmentId().equals(f.id()) || order.size() != expected || order.action() != Order.Action.PUT
        || !order.holderId().equals(a.holderId())) {
      throw new IOException("the coordinator's order does not match fragment " + f.index() + ": " + a.order());
    }
    client.put(endpoint, f.id(), blockSize, f.bytes(), new Order.Signed(order, a.signature()));
    long stored = client.size(endpoint, f.id());
    if (stored != expected) {
      throw new IOException("holder " + endpoint + " reports " + stored + " bytes for " + f.id() + ", expected "
          + expected);
    }
  }
}
