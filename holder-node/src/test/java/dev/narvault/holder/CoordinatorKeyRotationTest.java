package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.CoordinatorKeys;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator key rotated, at a holder over real sockets: the holder takes orders signed by the
 * new key, and by the retired one until its date on the holder's clock (moved by hand), not after.
 */
class CoordinatorKeyRotationTest {
  private static final int BLOCK = 4096;
  private static final int SIZE = 10_000;
  /** keygen names every key narvault-coordinator-1 unless told otherwise: the names may well be equal. */
  private static final NixSecretKey OLD = NixSecretKey.generate("narvault-coordinator-1", new SecureRandom());
  private static final NixSecretKey NEW = NixSecretKey.generate("narvault-coordinator-1", new SecureRandom());
  private final TestClock clock = new TestClock(Instant.parse("2027-01-30T12:00:00Z"));
  private final HolderClient client = new HolderClient(Duration.ofSeconds(10));

  @TempDir
  Path dir;

  private HolderServer start() throws IOException {
    Path data = dir.resolve("data");
    CoordinatorKeys keys = new CoordinatorKeys(List.of(NEW.publicKey()),
        List.of(CoordinatorKeys.Retired.parse(OLD.publicKey() + "@2027-01-31")));
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data, 1 << 20, keys),
        DiskFragmentStore.open(data, 1 << 20), clock);
  }

  /** Uploads fragment {@code seed} under an order signed by {@code key}; answers its id. */
  private FragmentId put(HolderServer holder, int seed, NixSecretKey key) throws IOException {
    byte[] body = TestFragments.bytes(SIZE, seed);
    FragmentId id = TestFragments.idOf(body, BLOCK);
    client.put(holder.endpoint(), id, BLOCK, Files.write(dir.resolve("fragment-" + seed), body),
        new Order(Order.Action.PUT, id, SIZE, BLOCK, holder.holderId(), clock.instant().plusSeconds(600))
            .signWith(key));
    return id;
  }

  private boolean delete(HolderServer holder, FragmentId id, NixSecretKey key) throws IOException {
    return client.delete(holder.endpoint(), id, new Order(Order.Action.DELETE, id, 0, 0, holder.holderId(),
        clock.instant().plusSeconds(600)).signWith(key));
  }

  @Test
  void ordersByTheNewKey_areTaken_andByTheRetiredKeyUntilItsDate_notAfter() throws Exception {
    try (HolderServer holder = start()) {
      FragmentId byNew = put(holder, 1, NEW);
      FragmentId byOld = put(holder, 2, OLD);
      assertArrayEquals(TestFragments.bytes(SIZE, 2), client.read(holder.endpoint(), byOld, 0, SIZE),
          "the retired key's order was taken before its date");
      FragmentId third = put(holder, 3, NEW);

      clock.advance(Duration.ofHours(11).plusMinutes(59));
      assertTrue(delete(holder, third, OLD), "a minute before the date: still accepted");

      clock.advance(Duration.ofMinutes(1));
      IOException late = assertThrows(IOException.class, () -> put(holder, 4, OLD));
      assertTrue(late.getMessage().contains("HTTP 403") && late.getMessage().contains("retired coordinator key"),
          late.getMessage());
      IOException lateDelete = assertThrows(IOException.class, () -> delete(holder, byNew, OLD));
      assertTrue(lateDelete.getMessage().contains("accepted until 2027-01-31T00:00:00Z only"),
          lateDelete.getMessage());
      assertArrayEquals(TestFragments.bytes(SIZE, 1), client.read(holder.endpoint(), byNew, 0, SIZE),
          "the refused delete deleted nothing");

      put(holder, 5, NEW);
      assertTrue(delete(holder, byOld, NEW), "the new key's orders go on being taken");
    }
  }
}
