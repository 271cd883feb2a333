package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.holder.store.ForwardingFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk that fills up although the capacity said there was room: the write fails cleanly,
 * the client is told, and nothing partial remains. The fault is injected through the
 * {@link FragmentStore} seam, around the real disk store.
 */
class FullDiskTest {
  @TempDir
  Path dir;

  /** The disk store, except that uploads hit "no space left on device" after {@code limit} bytes. */
  static final class FillingUpStore extends ForwardingFragmentStore {
    private final long limit;

    FillingUpStore(FragmentStore disk, long limit) {
      super(disk);
      this.limit = limit;
    }

    @Override
    public Upload begin(FragmentId id, long length, int blockSize) throws IOException {
      Upload real = delegate().begin(id, length, blockSize);
      return new Upload() {
        long written;

        @Override
        public void write(ByteBuffer bytes) throws IOException {
          written += bytes.remaining();
          if (written > limit) {
            throw new IOException("No space left on device");
          }
          real.write(bytes);
        }

        @Override
        public boolean commit() throws IOException {
          return real.commit();
        }

        @Override
        public void close() throws IOException {
          real.close();
        }
      };
    }
  }

  @Test
  void diskFullMidUpload_failsCleanly_andLeavesNothing() throws Exception {
    NixSecretKey coordinator = NixSecretKey.generate("c", new SecureRandom());
    byte[] body = TestFragments.bytes(200_000, 1);
    FragmentId id = TestFragments.idOf(body, 4096);
    Path data = dir.resolve("data");
    FragmentStore store = new FillingUpStore(DiskFragmentStore.open(data, 1 << 20), 100_000);
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    try (HolderServer holder = HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data, 1 << 20,
        coordinator.publicKey()), store, InstantSource.system())) {
      Order.Signed order = new Order(Order.Action.PUT, id, body.length, 4096, holder.holderId(), Instant.now().plusSeconds(60))
          .signWith(coordinator);
      IOException e = Assertions.assertThrows(IOException.class,
          () -> client.put(holder.endpoint(), id, 4096, Files.write(dir.resolve("f"), body), order));
      assertTrue(e.getMessage().contains("507") && e.getMessage().contains("No space left"), e.getMessage());
      assertEquals(0, store.usedBytes(), "the reservation is released");
      assertEquals(-1, client.size(holder.endpoint(), id));
      try (Stream<Path> tmp = Files.list(data.resolve("tmp")); Stream<Path> frags = Files.walk(data.resolve("fragments"))) {
        assertEquals(0, tmp.count(), "no temporary file left");
        assertEquals(0, frags.filter(Files::isRegularFile).count(), "no fragment visible");
      }
    }
  }

  @Test
  void delete_onAFullDisk_movesTheFragmentIntoTheTrash_writingNothing() throws Exception {
    NixSecretKey coordinator = NixSecretKey.generate("c", new SecureRandom());
    byte[] body = TestFragments.bytes(50_000, 2);
    FragmentId id = TestFragments.idOf(body, 4096);
    Path data = dir.resolve("data");
    DiskFragmentStore disk = DiskFragmentStore.open(data, body.length);
    try (FragmentStore.Upload upload = disk.begin(id, body.length, 4096)) {
      upload.write(ByteBuffer.wrap(body));
      upload.commit();
    }
    // Full both ways: the capacity is used up, and the disk refuses to take another byte.
    FragmentStore store = new FillingUpStore(disk, 0);
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    try (HolderServer holder = HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data,
        body.length, coordinator.publicKey()), store, InstantSource.system())) {
      Path stored = data.resolve("fragments").resolve(id.hex().substring(0, 2)).resolve(id.hex().substring(2, 4))
          .resolve(id.hex());
      Object inode = Files.getAttribute(stored, "unix:ino");
      long journal = Files.size(data.resolve("orders-seen.log"));
      Order.Signed order = new Order(Order.Action.DELETE, id, 0, 0, holder.holderId(), Instant.now().plusSeconds(60))
          .signWith(coordinator);
      assertTrue(client.delete(holder.endpoint(), id, order));
      assertEquals(-1, client.size(holder.endpoint(), id));
      assertEquals(0, store.usedBytes());
      try (Stream<Path> trash = Files.list(data.resolve("trash"))) {
        Path trashed = trash.findFirst().orElseThrow();
        assertEquals(inode, Files.getAttribute(trashed, "unix:ino"), "renamed, not copied");
      }
      assertEquals(journal, Files.size(data.resolve("orders-seen.log")), "the order was recorded in place");
    }
  }
}
