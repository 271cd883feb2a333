package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.AuditChallenge;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleted fragments go to the trash, out of service, for {@code --trash-for}; a signed restore
 * order brings one back once it verifies. Real holder on loopback, real files, a fake clock.
 */
class TrashTest {
  private static final int BLOCK = 4096;
  private static final int SIZE = 10_000;
  private static final Duration WEEK = Duration.ofDays(7);
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  private final HolderClient client = new HolderClient(Duration.ofSeconds(5));
  private final HttpClient http = HttpClient.newHttpClient();
  private final TestClock clock = new TestClock(Instant.parse("2026-12-01T10:00:00Z"));

  @TempDir
  Path dir;

  private HolderServer start(long capacity, Duration trashFor) throws IOException {
    Path data = dir.resolve("data");
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data, capacity,
        COORDINATOR.publicKey()).withTrashFor(trashFor), DiskFragmentStore.open(data, capacity, clock, trashFor), clock);
  }

  private Order.Signed order(HolderServer holder, Order.Action action, FragmentId id, long size, int blockSize) {
    return new Order(action, id, size, blockSize, holder.holderId(), clock.instant().plusSeconds(600))
        .signWith(COORDINATOR);
  }

  private FragmentId put(HolderServer holder, byte[] bytes) throws IOException {
    FragmentId id = TestFragments.idOf(bytes, BLOCK);
    client.put(holder.endpoint(), id, BLOCK, Files.write(Files.createTempFile(dir, "f", ""), bytes),
        order(holder, Order.Action.PUT, id, bytes.length, BLOCK));
    return id;
  }

  private boolean delete(HolderServer holder, FragmentId id) throws IOException {
    return client.delete(holder.endpoint(), id, order(holder, Order.Action.DELETE, id, 0, 0));
  }

  private boolean restore(HolderServer holder, FragmentId id) throws IOException {
    return client.restore(holder.endpoint(), id, order(holder, Order.Action.RESTORE, id, 0, 0));
  }

  private List<Path> trashFiles() throws IOException {
    try (Stream<Path> s = Files.list(dir.resolve("data/trash"))) {
      return s.toList();
    }
  }

  private int postRestore(HolderServer holder, FragmentId id, Order.Signed order) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(HolderClient.fragmentUri(holder.endpoint(), id)
        + "/restore")).POST(HttpRequest.BodyPublishers.noBody());
    if (order != null) {
      b.header(Order.HEADER, order.order().text()).header(Order.SIGNATURE_HEADER, order.signature());
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  @Test
  void delete_thenRestore_givesBackTheSameBytes_andTheTrashIsNeitherServedListedAuditedNorCounted()
      throws Exception {
    byte[] bytes = TestFragments.bytes(SIZE, 1);
    try (HolderServer holder = start(1 << 20, WEEK)) {
      FragmentId id = put(holder, bytes);
      assertTrue(delete(holder, id));
      assertEquals(-1, client.size(holder.endpoint(), id), "not served");
      assertEquals(404, assertThrows(HolderRefusedException.class,
          () -> client.read(holder.endpoint(), id, 0, 100)).status());
      assertEquals(List.of(), client.list(holder.endpoint(), "", 100).fragments(), "not listed");
      AuditChallenge audit = new AuditChallenge(id, TestFragments.bytes(32, 2), List.of(new long[] {0, 100}));
      assertTrue(assertThrows(IOException.class, () -> client.audit(holder.endpoint(), audit)).getMessage()
          .contains("404"), "not audited");
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, holder.store().usedBytes(), "not counted as used");
      assertEquals(SIZE, holder.store().trashBytes());
      assertEquals(1, trashFiles().size());

      assertTrue(restore(holder, id));
      assertArrayEquals(bytes, client.read(holder.endpoint(), id, 0, SIZE));
      assertEquals(List.of(id), client.list(holder.endpoint(), "", 100).fragments());
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(SIZE, holder.store().usedBytes());
      assertEquals(0, holder.store().trashBytes());
      assertEquals(List.of(), trashFiles());
      assertTrue(restore(holder, id), "a repeat: stored already, still true");
      assertEquals(SIZE, holder.store().usedBytes());
    }
  }

  @Test
  void purge_afterTheTrashTime_deletesTheFragment_andRestoreSays404() throws Exception {
    try (HolderServer holder = start(1 << 20, WEEK)) {
      FragmentId id = put(holder, TestFragments.bytes(SIZE, 3));
      assertTrue(delete(holder, id));
      clock.advance(WEEK.minusMinutes(1));
      holder.purgeTrashOnce();
      assertEquals(SIZE, holder.store().trashBytes(), "not due yet");
      clock.advance(Duration.ofMinutes(2));
      holder.purgeTrashOnce();
      assertEquals(0, holder.store().trashBytes());
      assertEquals(List.of(), trashFiles());
      assertFalse(restore(holder, id));
      assertEquals(-1, client.size(holder.endpoint(), id));
    }
  }

  @Test
  void delete_withNoTrashTime_deletesAtOnce() throws Exception {
    try (HolderServer holder = start(1 << 20, Duration.ZERO)) {
      FragmentId id = put(holder, TestFragments.bytes(SIZE, 4));
      assertTrue(delete(holder, id));
      assertEquals(List.of(), trashFiles());
      assertEquals(0, holder.store().trashBytes());
      assertFalse(restore(holder, id));
      assertFalse(delete(holder, id), "a repeat delete: 404");
    }
  }

  @Test
  void restore_ofACorruptTrashedCopy_is409_andItStaysOut() throws Exception {
    try (HolderServer holder = start(1 << 20, WEEK)) {
      FragmentId id = put(holder, TestFragments.bytes(SIZE, 5));
      assertTrue(delete(holder, id));
      try (FileChannel ch = FileChannel.open(trashFiles().getFirst(), StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.wrap(new byte[] {42}), 777);
      }
      HolderRefusedException e = assertThrows(HolderRefusedException.class, () -> restore(holder, id));
      assertEquals(409, e.status(), e.getMessage());
      assertEquals(-1, client.size(holder.endpoint(), id), "never served");
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, holder.store().usedBytes());
      assertEquals(0, holder.store().trashBytes());
      assertEquals(List.of(), trashFiles(), "the corrupt copy is deleted");
      assertFalse(restore(holder, id), "a repeat: nothing left to restore");
    }
  }

  @Test
  void restore_withoutAGoodRestoreOrder_isRefused_andTheFragmentStaysInTheTrash() throws Exception {
    try (HolderServer holder = start(1 << 20, WEEK)) {
      FragmentId id = put(holder, TestFragments.bytes(SIZE, 6));
      assertTrue(delete(holder, id));
      NixSecretKey stranger = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
      Instant later = clock.instant().plusSeconds(600);
      assertEquals(401, postRestore(holder, id, null), "no order");
      assertEquals(403, postRestore(holder, id,
          new Order(Order.Action.RESTORE, id, 0, 0, holder.holderId(), later).signWith(stranger)), "forged");
      assertEquals(403, postRestore(holder, id,
          new Order(Order.Action.RESTORE, id, 0, 0, "someoneelse", later).signWith(COORDINATOR)), "other holder");
      assertEquals(403, postRestore(holder, id, new Order(Order.Action.RESTORE, id, 0, 0, holder.holderId(),
          clock.instant().minusSeconds(1)).signWith(COORDINATOR)), "expired");
      FragmentId other = TestFragments.idOf(TestFragments.bytes(10, 7), BLOCK);
      assertEquals(403, postRestore(holder, id, order(holder, Order.Action.RESTORE, other, 0, 0)), "other fragment");
      assertEquals(403, postRestore(holder, id, order(holder, Order.Action.PUT, id, SIZE, BLOCK)), "a put order");
      assertEquals(403, postRestore(holder, id, order(holder, Order.Action.DELETE, id, 0, 0)), "a delete order");
      Order.Signed good = order(holder, Order.Action.RESTORE, id, 0, 0);
      assertEquals(200, postRestore(holder, id, good));
      assertEquals(403, postRestore(holder, id, good), "an order is good once");
      assertEquals(SIZE, client.size(holder.endpoint(), id));
    }
  }

  @Test
  void aRestoreOrder_cannotPutOrDelete() throws Exception {
    byte[] bytes = TestFragments.bytes(SIZE, 8);
    FragmentId id = TestFragments.idOf(bytes, BLOCK);
    try (HolderServer holder = start(1 << 20, WEEK)) {
      Order.Signed restore = order(holder, Order.Action.RESTORE, id, 0, 0);
      Path file = Files.write(dir.resolve("f"), bytes);
      assertTrue(assertThrows(IOException.class, () -> client.put(holder.endpoint(), id, BLOCK, file, restore))
          .getMessage().contains("403"));
      assertEquals(-1, client.size(holder.endpoint(), id));
      put(holder, bytes);
      assertTrue(assertThrows(IOException.class, () -> client.delete(holder.endpoint(), id, restore))
          .getMessage().contains("403"));
      assertEquals(SIZE, client.size(holder.endpoint(), id), "still stored");
      assertEquals(0, holder.store().trashBytes());
    }
  }

  @Test
  void put_thatNeedsRoom_deletesTheTrashOldestFirst() throws Exception {
    try (HolderServer holder = start(3 * SIZE, WEEK)) {
      FragmentId a = put(holder, TestFragments.bytes(SIZE, 10));
      FragmentId b = put(holder, TestFragments.bytes(SIZE, 11));
      put(holder, TestFragments.bytes(SIZE, 12));
      assertTrue(delete(holder, a));
      clock.advance(Duration.ofMinutes(1));
      assertTrue(delete(holder, b));
      assertEquals(SIZE, client.status(holder.endpoint()).usedBytes(), "the trash is not reported as used");
      assertEquals(2 * SIZE, holder.store().trashBytes());
      put(holder, TestFragments.bytes(SIZE, 13));
      assertEquals(SIZE, holder.store().trashBytes(), "one trashed fragment made room");
      assertFalse(restore(holder, a), "the oldest went first");
      assertTrue(restore(holder, b));
      assertEquals(3 * SIZE, holder.store().usedBytes());
      assertEquals(0, holder.store().trashBytes());
    }
  }

  @Test
  void put_ofATrashedFragment_storesIt_andDropsTheTrashedCopy() throws Exception {
    byte[] bytes = TestFragments.bytes(SIZE, 14);
    try (HolderServer holder = start(1 << 20, WEEK)) {
      FragmentId id = put(holder, bytes);
      assertTrue(delete(holder, id));
      put(holder, bytes);
      assertEquals(0, holder.store().trashBytes());
      assertEquals(List.of(), trashFiles());
      assertArrayEquals(bytes, client.read(holder.endpoint(), id, 0, SIZE));
    }
  }

  @Test
  void restart_keepsTheTrash_andWhenEachFragmentWasTrashed() throws Exception {
    byte[] first = TestFragments.bytes(SIZE, 15);
    FragmentId a;
    FragmentId b;
    try (HolderServer holder = start(1 << 20, WEEK)) {
      a = put(holder, first);
      b = put(holder, TestFragments.bytes(SIZE, 16));
      assertTrue(delete(holder, a));
      assertTrue(delete(holder, b));
    }
    clock.advance(Duration.ofDays(3));
    try (HolderServer holder = start(1 << 20, WEEK)) {
      assertEquals(2 * SIZE, holder.store().trashBytes());
      assertEquals(0, holder.store().usedBytes());
      assertTrue(restore(holder, a));
      assertArrayEquals(first, client.read(holder.endpoint(), a, 0, SIZE));
      clock.advance(Duration.ofDays(4).plusSeconds(1));
      holder.purgeTrashOnce();
      assertFalse(restore(holder, b), "trashed 7 days ago, before the restart: purged");
    }
  }
}
