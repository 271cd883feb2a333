package dev.narvault.encoder;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a pack's fragments on distinct holders. All fragments go out at once, fragment i to the
 * holder at {@code (start + i) mod H}; a holder that refuses or fails is skipped for the rest of
 * this pack, and its fragment then tries, one by one, the next holders not yet used. Each upload carries an order signed with
 * the coordinator's key; each placement is confirmed by asking the holder for the stored length
 * before it counts.
 */
final class Placement {
  private static final Logger LOG = LoggerFactory.getLogger(Placement.class);

  /** How long a placement order stays valid: long enough for a slow upload, short enough to be useless later. */
  private static final Duration ORDER_LIFETIME = Duration.ofHours(1);

  private final HolderClient client;
  private final List<URI> holders;
  private final NixSecretKey coordinatorKey;
  private final Clock clock;
  private final Map<URI, String> holderIds;

  Placement(HolderClient client, List<URI> holders, NixSecretKey coordinatorKey, Clock clock,
      Map<URI, String> holderIds) {
    this.client = client;
    this.holders = holders;
    this.coordinatorKey = coordinatorKey;
    this.clock = clock;
    this.holderIds = holderIds;
  }

  /**
   * Places every fragment; returns the holder of each, by index.
   *
   * @throws IOException when some fragment found no holder that would take it
   */
  List<URI> place(List<Path> fragmentFiles, List<FragmentId> ids, int blockSize, int start) throws IOException {
    int n = fragmentFiles.size();
    URI[] placed = new URI[n];
    Set<URI> used = new HashSet<>();
    Set<URI> failed = new HashSet<>();
    // First every fragment at once, each to its own holder (distinct: start + i modulo H).
    List<Future<?>> first = new ArrayList<>();
    try (var uploads = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < n; i++) {
        int index = i;
        URI holder = holders.get(Math.floorMod(start + i, holders.size()));
        first.add(uploads.submit(() -> {
          upload(fragmentFiles.get(index), ids.get(index), blockSize, holder);
          return null;
        }));
      }
      for (int i = 0; i < n; i++) {
        URI holder = holders.get(Math.floorMod(start + i, holders.size()));
        try {
          first.get(i).get();
          placed[i] = holder;
          used.add(holder);
        } catch (ExecutionException e) {
          LOG.warn("fragment {} not placed on {}: {}", i, holder, e.getCause().getMessage());
          failed.add(holder);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while placing fragments");
        }
      }
    }
    // Then, one by one, what failed goes to holders neither used nor failed in this pack.
    for (int i = 0; i < n; i++) {
      for (int t = 1; t < holders.size() && placed[i] == null; t++) {
        URI holder = holders.get(Math.floorMod(start + i + t, holders.size()));
        if (used.contains(holder) || failed.contains(holder)) {
          continue;
        }
        try {
          upload(fragmentFiles.get(i), ids.get(i), blockSize, holder);
          placed[i] = holder;
          used.add(holder);
        } catch (IOException e) {
          LOG.warn("fragment {} not placed on {}: {}", i, holder, e.getMessage());
          failed.add(holder);
        }
      }
      if (placed[i] == null) {
        throw new IOException("no holder accepted fragment " + i + " (" + ids.get(i) + "); "
            + failed.size() + " holders failed");
      }
    }
    return List.of(placed);
  }

  /** Uploads one fragment under a fresh order and confirms the holder stored all of it. */
  private void upload(Path file, FragmentId id, int blockSize, URI holder) throws IOException {
    long expected = Files.size(file);
    String holderId = holderIds.get(holder);
    if (holderId == null) {
      throw new IOException("holder " + holder + " did not tell its id");
    }
    Order.Signed order = new Order(Order.Action.PUT, id, expected, holderId, clock.instant().plus(ORDER_LIFETIME))
        .signWith(coordinatorKey);
    client.put(holder, id, blockSize, file, order);
    long stored = client.size(holder, id);
    if (stored != expected) {
      throw new IOException("holder " + holder + " reports " + stored + " bytes for " + id + ", expected " + expected);
    }
  }
}
