package dev.narvault.encoder;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts a pack's fragments on distinct holders. Fragment i goes first to the holder at
 * {@code (start + i) mod H}; a holder that refuses or fails is skipped for the rest of this pack
 * and the fragment tries the next holder not yet used. Each upload carries an order signed with
 * the coordinator's key; each placement is confirmed by asking the holder for the stored length
 * before it counts.
 */
final class Placement {
  private static final Logger LOG = LoggerFactory.getLogger(Placement.class);

  /** How long a placement order stays valid: long enough for a slow upload, short enough to be useless later. */
  private static final java.time.Duration ORDER_LIFETIME = java.time.Duration.ofHours(1);

  private final HolderClient client;
  private final List<URI> holders;
  private final NixSecretKey coordinatorKey;
  private final java.time.Clock clock;
  private final java.util.Map<URI, String> holderIds;

  Placement(HolderClient client, List<URI> holders, NixSecretKey coordinatorKey, java.time.Clock clock,
      java.util.Map<URI, String> holderIds) {
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
    Set<URI> used = new HashSet<>();
    Set<URI> failed = new HashSet<>();
    List<URI> placed = new ArrayList<>();
    for (int i = 0; i < fragmentFiles.size(); i++) {
      URI chosen = null;
      for (int t = 0; t < holders.size() && chosen == null; t++) {
        URI holder = holders.get(Math.floorMod(start + i + t, holders.size()));
        if (used.contains(holder) || failed.contains(holder)) {
          continue;
        }
        try {
          long expected = java.nio.file.Files.size(fragmentFiles.get(i));
          String holderId = holderIds.get(holder);
          if (holderId == null) {
            throw new IOException("holder " + holder + " did not tell its id");
          }
          Order.Signed order = new Order(Order.Action.PUT, ids.get(i), expected, holderId,
              clock.instant().plus(ORDER_LIFETIME)).signWith(coordinatorKey);
          client.put(holder, ids.get(i), blockSize, fragmentFiles.get(i), order);
          long stored = client.size(holder, ids.get(i));
          if (stored != expected) {
            throw new IOException("holder " + holder + " reports " + stored + " bytes for " + ids.get(i)
                + ", expected " + expected);
          }
          chosen = holder;
        } catch (IOException e) {
          LOG.warn("fragment {} not placed on {}: {}", i, holder, e.getMessage());
          failed.add(holder);
        }
      }
      if (chosen == null) {
        throw new IOException("no holder accepted fragment " + i + " (" + ids.get(i) + "); "
            + failed.size() + " holders failed");
      }
      used.add(chosen);
      placed.add(chosen);
    }
    return placed;
  }
}
