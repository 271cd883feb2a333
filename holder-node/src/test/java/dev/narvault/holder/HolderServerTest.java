package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The holder over real sockets and real files. */
class HolderServerTest {
  private static final int BLOCK = 4096;
  private final HolderClient client = new HolderClient(Duration.ofSeconds(5));
  private final HttpClient http = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());

  private HolderServer start(long capacity) throws IOException {
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("data"), capacity,
        COORDINATOR.publicKey()));
  }

  static Order.Signed order(HolderServer holder, FragmentId id, long size) {
    return new Order(Order.Action.PUT, id, size, BLOCK, holder.holderId(), Instant.now().plusSeconds(600)).signWith(COORDINATOR);
  }

  private void put(HolderServer holder, FragmentId id, byte[] bytes) throws IOException {
    client.put(holder.endpoint(), id, BLOCK, file(bytes), order(holder, id, bytes.length));
  }

  private static byte[] randomBytes(int n, long seed) {
    return TestFragments.bytes(n, seed);
  }

  private static FragmentId idOf(byte[] bytes) {
    return TestFragments.idOf(bytes, BLOCK);
  }


  private Path file(byte[] bytes) throws IOException {
    return Files.write(Files.createTempFile(dir, "fragment", ".bin"), bytes);
  }

  private HttpResponse<String> putRaw(HolderServer holder, FragmentId id, byte[] body, String query) throws Exception {
    Order.Signed o = order(holder, id, body.length);
    return http.send(HttpRequest.newBuilder(URI.create(HolderClient.fragmentUri(holder.endpoint(), id) + query))
        .header(Order.HEADER, o.order().text()).header(Order.SIGNATURE_HEADER, o.signature())
        .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Fragment files visible in the store (not counting their block-size files). */
  private long fragmentFiles() throws IOException {
    try (Stream<Path> s = Files.walk(dir.resolve("data/fragments"))) {
      return s.filter(p -> Files.isRegularFile(p) && !p.toString().endsWith(".bs")).count();
    }
  }

  @Test
  void put_thenRangedGet_returnsExactBytes() throws Exception {
    byte[] bytes = randomBytes(20_000, 1);
    FragmentId id = idOf(bytes);
    try (HolderServer holder = start(1 << 20)) {
      put(holder, id, bytes);
      assertEquals(20_000, client.size(holder.endpoint(), id));
      assertArrayEquals(Arrays.copyOfRange(bytes, 4096, 4096 + 5000), client.read(holder.endpoint(), id, 4096, 5000));
      assertArrayEquals(Arrays.copyOfRange(bytes, 19_999, 20_000), client.read(holder.endpoint(), id, 19_999, 1));
      HttpResponse<byte[]> whole = http.send(HttpRequest.newBuilder(HolderClient.fragmentUri(holder.endpoint(), id)).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, whole.statusCode());
      assertArrayEquals(bytes, whole.body());
      assertEquals("bytes", whole.headers().firstValue("Accept-Ranges").orElse(""));
    }
  }

  @Test
  void put_repeated_isHarmlessNoOp() throws Exception {
    byte[] bytes = randomBytes(5000, 2);
    FragmentId id = idOf(bytes);
    try (HolderServer holder = start(1 << 20)) {
      assertEquals(201, putRaw(holder, id, bytes, "?blockSize=" + BLOCK).statusCode());
      assertEquals(200, putRaw(holder, id, bytes, "?blockSize=" + BLOCK).statusCode());
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(5000, holder.store().usedBytes());
    }
  }

  @Test
  void put_ofAStoredFragment_onAFullHolder_isAnsweredWithoutReservingSpace() throws Exception {
    byte[] bytes = randomBytes(5000, 4);
    FragmentId id = idOf(bytes);
    // Exactly full once the fragment is stored: another 5000-byte reservation would be a 507.
    try (HolderServer holder = start(5000)) {
      assertEquals(201, putRaw(holder, id, bytes, "?blockSize=" + BLOCK).statusCode());
      HttpResponse<String> again = putRaw(holder, id, bytes, "?blockSize=" + BLOCK);
      assertEquals(200, again.statusCode(), again.body());
      assertEquals("already stored\n", again.body());
      assertEquals(5000, holder.store().usedBytes());
      assertEquals(1, holder.store().fragmentCount());
    }
  }

  @Test
  void concurrentPutsOfOneFragment_storeItOnce_andCountItOnce() throws Exception {
    byte[] bytes = randomBytes(3 << 20, 5);
    FragmentId id = idOf(bytes);
    try (HolderServer holder = start(64 << 20)) {
      java.util.List<java.util.concurrent.Future<Integer>> puts = new java.util.ArrayList<>();
      try (var pool = java.util.concurrent.Executors.newFixedThreadPool(6)) {
        for (int i = 0; i < 6; i++) {
          puts.add(pool.submit(() -> putRaw(holder, id, bytes, "?blockSize=" + BLOCK).statusCode()));
        }
      }
      int created = 0;
      for (var p : puts) {
        int status = p.get();
        assertTrue(status == 200 || status == 201, "status " + status);
        created += status == 201 ? 1 : 0;
      }
      assertEquals(1, created, "one upload stored it; the others found it stored");
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(bytes.length, holder.store().usedBytes());
      try (var files = java.nio.file.Files.walk(dir.resolve("data/tmp"))) {
        assertEquals(0, files.filter(java.nio.file.Files::isRegularFile).count(), "no temporary file left");
      }
    }
    // At the store itself, commits released at the same instant: still one.
    dev.narvault.holder.store.FragmentStore store =
        dev.narvault.holder.store.DiskFragmentStore.open(dir.resolve("race"), 64 << 20);
    byte[] small = randomBytes(20_000, 6);
    FragmentId smallId = idOf(small);
    java.util.List<dev.narvault.holder.store.FragmentStore.Upload> uploads = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      var u = store.begin(smallId, small.length, BLOCK);
      u.write(java.nio.ByteBuffer.wrap(small));
      uploads.add(u);
    }
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    java.util.List<java.util.concurrent.Future<Boolean>> commits = new java.util.ArrayList<>();
    try (var pool = java.util.concurrent.Executors.newFixedThreadPool(8)) {
      for (var u : uploads) {
        commits.add(pool.submit(() -> {
          go.await();
          try (u) {
            return u.commit();
          }
        }));
      }
      go.countDown();
    }
    int stored = 0;
    for (var c : commits) {
      stored += c.get() ? 1 : 0;
    }
    assertEquals(1, stored, "one commit stores it, the others find it there");
    assertEquals(1, store.fragmentCount());
    assertEquals(small.length, store.usedBytes());
    // Counted from the disk on restart: the same.
    try (HolderServer holder = start(64 << 20)) {
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(bytes.length, holder.store().usedBytes());
    }
  }

  @Test
  void put_tamperedBody_isRefusedAndNothingStored() throws Exception {
    byte[] bytes = randomBytes(9000, 3);
    FragmentId id = idOf(bytes);
    byte[] tampered = bytes.clone();
    tampered[4444] ^= 1;
    try (HolderServer holder = start(1 << 20)) {
      HttpResponse<String> r = putRaw(holder, id, tampered, "?blockSize=" + BLOCK);
      assertEquals(422, r.statusCode(), r.body());
      assertTrue(r.body().contains("hash"), r.body());
      assertEquals(-1, client.size(holder.endpoint(), id));
      assertEquals(0, holder.store().usedBytes());
      assertEquals(0, fragmentFiles());
    }
  }

  @Test
  void put_withoutBlockSizeOrWithBadId_isRefused() throws Exception {
    byte[] bytes = randomBytes(100, 4);
    try (HolderServer holder = start(1 << 20)) {
      assertEquals(400, putRaw(holder, idOf(bytes), bytes, "").statusCode());
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(holder.endpoint() + "/v1/fragments/not-an-id"))
          .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, r.statusCode());
      assertTrue(r.body().contains("not-an-id"), r.body());
    }
  }

  @Test
  void put_overCapacity_is507AndLeavesNothingPartial() throws Exception {
    byte[] first = randomBytes(6000, 5);
    byte[] second = randomBytes(6000, 6);
    try (HolderServer holder = start(10_000)) {
      put(holder, idOf(first), first);
      IOException e = assertThrows(IOException.class, () -> put(holder, idOf(second), second));
      assertTrue(e.getMessage().contains("507"), e.getMessage());
      assertEquals(6000, holder.store().usedBytes());
      assertEquals(1, fragmentFiles());
    }
  }

  @Test
  void get_unknownFragment_is404_andBadRange_is416() throws Exception {
    byte[] bytes = randomBytes(1000, 7);
    FragmentId id = idOf(bytes);
    try (HolderServer holder = start(1 << 20)) {
      assertThrows(IOException.class, () -> client.read(holder.endpoint(), id, 0, 10));
      put(holder, id, bytes);
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(HolderClient.fragmentUri(holder.endpoint(), id))
          .header("Range", "bytes=5000-6000").build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(416, r.statusCode());
      assertEquals("bytes */1000", r.headers().firstValue("Content-Range").orElse(""));
    }
  }

  @Test
  void restart_onSameDataDir_keepsFragmentsAndSweepsUnfinishedUploads() throws Exception {
    byte[] bytes = randomBytes(7000, 8);
    FragmentId id = idOf(bytes);
    try (HolderServer holder = start(1 << 20)) {
      put(holder, id, bytes);
    }
    // What a crash mid-upload leaves behind: a temporary file, never a visible fragment.
    Files.write(dir.resolve("data/tmp/" + id.hex() + ".crashed.part"), new byte[123]);
    try (HolderServer holder = start(1 << 20)) {
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(7000, holder.store().usedBytes());
      assertArrayEquals(bytes, client.read(holder.endpoint(), id, 0, 7000));
      try (Stream<Path> tmp = Files.list(dir.resolve("data/tmp"))) {
        assertEquals(0, tmp.count());
      }
    }
  }

  @Test
  void listing_pagesThroughEveryFragmentInOrder_andCountsQuarantinedBytesAfterRestart() throws Exception {
    List<FragmentId> ids = new ArrayList<>();
    try (HolderServer holder = start(1 << 20)) {
      for (int i = 0; i < 7; i++) {
        byte[] bytes = randomBytes(1000 + i, 100 + i);
        ids.add(idOf(bytes));
        put(holder, idOf(bytes), bytes);
      }
      ids.sort(java.util.Comparator.comparing(FragmentId::hex));
      List<FragmentId> seen = new ArrayList<>();
      String after = "";
      for (int page = 0; page < 10; page++) {
        HolderClient.Listing listing = client.list(holder.endpoint(), after, 3);
        seen.addAll(listing.fragments());
        if (!listing.more()) {
          break;
        }
        after = listing.fragments().getLast().hex();
      }
      assertEquals(ids, seen);
      holder.store().quarantine(ids.getFirst());
      assertEquals(ids.subList(1, 7), client.list(holder.endpoint(), "", 100).fragments());
    }
    try (HolderServer holder = start(1 << 20)) {
      assertEquals(6, holder.store().fragmentCount());
      long all = 0;
      for (int i = 0; i < 7; i++) {
        all += 1000 + i;
      }
      assertEquals(all, holder.store().usedBytes(), "the quarantined fragment still counts after a restart");
      assertEquals(ids.subList(1, 7), holder.store().list());
    }
  }

  @Test
  void status_reportsCapacityUsedAndCount() throws Exception {
    byte[] bytes = randomBytes(3000, 9);
    try (HolderServer holder = start(50_000)) {
      put(holder, idOf(bytes), bytes);
      String json = http.send(HttpRequest.newBuilder(URI.create(holder.endpoint() + "/v1/status")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(json.contains("\"capacityBytes\":50000") && json.contains("\"usedBytes\":3000")
          && json.contains("\"fragments\":1") && json.contains("\"holderId\":\"" + holder.holderId() + "\""), json);
    }
  }

  @Test
  void close_twiceAndFromTwoThreadsAtOnce_isHarmless() throws Exception {
    for (int round = 0; round < 5; round++) {
      HolderServer holder = HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0),
          dir.resolve("data-" + round), 1 << 20, COORDINATOR.publicKey()));
      // A holder refused for good closes itself on a thread of its own while its owner closes it.
      Thread other = Thread.ofPlatform().start(holder::close);
      holder.close();
      other.join();
      holder.close();
    }
  }
}
