package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.AuditChallenge;
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
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** Signed orders, audits, scrub, identity and the upload cap, over real sockets and files. */
class HolderOrdersAuditsCapsTest {
  private static final int BLOCK = 4096;
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  private final HolderClient client = new HolderClient(Duration.ofSeconds(10));
  private final HttpClient http = HttpClient.newHttpClient();

  @TempDir
  Path dir;

  private HolderConfig config() {
    return HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("data"), 64L << 20, COORDINATOR.publicKey());
  }

  private static byte[] bytes(int n, long seed) {
    return TestFragments.bytes(n, seed);
  }

  private static FragmentId idOf(byte[] bytes) {
    return TestFragments.idOf(bytes, BLOCK);
  }


  private int putWith(HolderServer holder, FragmentId id, byte[] body, String orderText, String signature) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(HolderClient.fragmentUri(holder.endpoint(), id) + "?blockSize=" + BLOCK))
        .PUT(HttpRequest.BodyPublishers.ofByteArray(body));
    if (orderText != null) {
      b.header(Order.HEADER, orderText).header(Order.SIGNATURE_HEADER, signature);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private long storedFiles() throws IOException {
    try (Stream<Path> s = Files.walk(dir.resolve("data/fragments"))) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  @Test
  void writes_withoutAValidOrder_areRefusedAndWriteNothing() throws Exception {
    byte[] body = bytes(10_000, 1);
    FragmentId id = idOf(body);
    Instant later = Instant.now().plusSeconds(600);
    try (HolderServer holder = HolderServer.start(config())) {
      String me = holder.holderId();
      Order good = new Order(Order.Action.PUT, id, body.length, BLOCK, me, later);
      NixSecretKey stranger = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
      assertEquals(401, putWith(holder, id, body, null, null), "no order");
      assertEquals(403, putWith(holder, id, body, good.text(), good.signWith(stranger).signature()), "forged signature");
      Order expired = new Order(Order.Action.PUT, id, body.length, BLOCK, me, Instant.now().minusSeconds(1));
      assertEquals(403, putWith(holder, id, body, expired.text(), expired.signWith(COORDINATOR).signature()), "expired");
      Order other = new Order(Order.Action.PUT, id, body.length, BLOCK, "someoneelse", later);
      assertEquals(403, putWith(holder, id, body, other.text(), other.signWith(COORDINATOR).signature()), "other holder");
      Order size = new Order(Order.Action.PUT, id, body.length + 1, BLOCK, me, later);
      assertEquals(403, putWith(holder, id, body, size.text(), size.signWith(COORDINATOR).signature()), "other size");
      Order delete = new Order(Order.Action.DELETE, id, body.length, 0, me, later);
      assertEquals(403, putWith(holder, id, body, delete.text(), delete.signWith(COORDINATOR).signature()), "delete order");
      Order wrongFragment = new Order(Order.Action.PUT, idOf(bytes(10, 9)), body.length, BLOCK, me, later);
      assertEquals(403, putWith(holder, id, body, wrongFragment.text(), wrongFragment.signWith(COORDINATOR).signature()));
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, storedFiles());
      Order otherBlocks = new Order(Order.Action.PUT, id, body.length, BLOCK * 2, me, later);
      assertEquals(403, putWith(holder, id, body, otherBlocks.text(), otherBlocks.signWith(COORDINATOR).signature()),
          "the order names another block size than the upload");
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, storedFiles());
      assertEquals(201, putWith(holder, id, body, good.text(), good.signWith(COORDINATOR).signature()), "a good order works");
      // Seen on the wire, it cannot be used again, whatever happened to the fragment since.
      assertTrue(holder.store().delete(id));
      assertEquals(403, putWith(holder, id, body, good.text(), good.signWith(COORDINATOR).signature()), "replayed");
      assertEquals(0, holder.store().fragmentCount());
    }
  }

  @Test
  void aDeleteOrder_cannotBeReplayedAfterTheFragmentIsPlacedAgain() throws Exception {
    byte[] body = bytes(5000, 12);
    try (HolderServer holder = HolderServer.start(config())) {
      FragmentId id = store(holder, body);
      Order.Signed delete = new Order(Order.Action.DELETE, id, 0, 0, holder.holderId(), Instant.now().plusSeconds(600))
          .signWith(COORDINATOR);
      assertTrue(client.delete(holder.endpoint(), id, delete));
      // Repair places the same fragment on this holder again; the old delete order comes back.
      store(holder, body);
      assertTrue(assertThrowsIo(() -> client.delete(holder.endpoint(), id, delete)).contains("used already"));
      assertEquals(body.length, client.size(holder.endpoint(), id), "the fragment stays");
    }
  }

  @Test
  void anOrder_cannotBeReplayedAfterTheHolderRestarts() throws Exception {
    byte[] body = bytes(6000, 13);
    FragmentId id = idOf(body);
    Order.Signed put;
    try (HolderServer holder = HolderServer.start(config())) {
      put = new Order(Order.Action.PUT, id, body.length, BLOCK, holder.holderId(), Instant.now().plusSeconds(600))
          .signWith(COORDINATOR);
      assertEquals(201, putWith(holder, id, body, put.order().text(), put.signature()));
      assertTrue(holder.store().delete(id));
    }
    // A crash can leave half a line at the end of the journal; it must not hide the lines before.
    Files.writeString(dir.resolve("data/orders-seen.log"), "0123", StandardOpenOption.APPEND);
    try (HolderServer holder = HolderServer.start(config())) {
      assertEquals(403, putWith(holder, id, body, put.order().text(), put.signature()),
          "the order was used before the restart");
      assertEquals(0, holder.store().fragmentCount());
      Order.Signed fresh = new Order(Order.Action.PUT, id, body.length, BLOCK, holder.holderId(),
          Instant.now().plusSeconds(600)).signWith(COORDINATOR);
      assertEquals(201, putWith(holder, id, body, fresh.order().text(), fresh.signature()), "a new order works");
    }
  }

  @Test
  void delete_needsItsOwnOrder() throws Exception {
    byte[] body = bytes(5000, 2);
    FragmentId id = idOf(body);
    try (HolderServer holder = HolderServer.start(config())) {
      Instant later = Instant.now().plusSeconds(600);
      client.put(holder.endpoint(), id, BLOCK, Files.write(dir.resolve("f"), body),
          new Order(Order.Action.PUT, id, body.length, BLOCK, holder.holderId(), later).signWith(COORDINATOR));
      Order.Signed putOrder = new Order(Order.Action.PUT, id, 0, BLOCK, holder.holderId(), later).signWith(COORDINATOR);
      assertTrue(assertThrowsIo(() -> client.delete(holder.endpoint(), id, putOrder)).contains("403"));
      assertEquals(1, holder.store().fragmentCount());
      Order.Signed deleteOrder = new Order(Order.Action.DELETE, id, 0, 0, holder.holderId(), later).signWith(COORDINATOR);
      assertTrue(client.delete(holder.endpoint(), id, deleteOrder));
      assertEquals(-1, client.size(holder.endpoint(), id));
      assertEquals(0, holder.store().usedBytes());
    }
  }

  private static String assertThrowsIo(Executable e) {
    return Assertions.assertThrows(IOException.class, e).getMessage();
  }

  private FragmentId store(HolderServer holder, byte[] body) throws IOException {
    FragmentId id = idOf(body);
    client.put(holder.endpoint(), id, BLOCK, Files.write(Files.createTempFile(dir, "f", ""), body),
        new Order(Order.Action.PUT, id, body.length, BLOCK, holder.holderId(), Instant.now().plusSeconds(600)).signWith(COORDINATOR));
    return id;
  }

  private Path fragmentFile(FragmentId id) {
    return dir.resolve("data/fragments").resolve(id.hex().substring(0, 2)).resolve(id.hex().substring(2, 4)).resolve(id.hex());
  }

  private void flipByte(Path file, long at) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, at);
      b.put(0, (byte) (b.get(0) ^ 1));
      ch.write(b.flip(), at);
    }
  }

  @Test
  void audit_honestAnswerMatches_alteredDataDoesNot() throws Exception {
    byte[] body = bytes(50_000, 3);
    try (HolderServer holder = HolderServer.start(config())) {
      FragmentId id = store(holder, body);
      AuditChallenge challenge = new AuditChallenge(id, bytes(32, 4), List.of(new long[] {100, 400}, new long[] {40_000, 9000}));
      String expected;
      Path copy = Files.write(dir.resolve("copy"), body);
      try (FileChannel f = FileChannel.open(copy)) {
        expected = challenge.answer(f);
      }
      assertEquals(expected, client.audit(holder.endpoint(), challenge));
      flipByte(fragmentFile(id), 45_000);
      assertNotEquals(expected, client.audit(holder.endpoint(), challenge));
      // A fresh nonce gives a fresh answer: answers cannot be stored up instead of the data.
      AuditChallenge other = new AuditChallenge(id, bytes(32, 5), challenge.ranges());
      assertNotEquals(expected, client.audit(holder.endpoint(), other));
      assertTrue(assertThrowsIo(() -> client.audit(holder.endpoint(),
          new AuditChallenge(id, bytes(32, 6), List.of(new long[] {49_999, 2})))).contains("400"));
    }
  }

  @Test
  void audit_withOverflowingRanges_isA400_andAllocatesNothingLarge() throws Exception {
    byte[] body = bytes(50_000, 3);
    try (HolderServer holder = HolderServer.start(config())) {
      FragmentId id = store(holder, body);
      String nonce = java.util.Base64.getEncoder().encodeToString(bytes(32, 9));
      // Lengths that sum past Long.MAX_VALUE to a small number, and an offset + length that
      // overflows: once made the holder allocate ~2 GiB before answering.
      String hostile = "{\"fragmentId\":\"" + id.hex() + "\",\"nonce\":\"" + nonce + "\",\"ranges\":["
          + "[2147483664,9223372034707292144],[0,9223372034707292144],[0,1]]}";
      Runtime rt = Runtime.getRuntime();
      long usedBefore = rt.totalMemory() - rt.freeMemory();
      for (int i = 0; i < 8; i++) {
        var response = http.send(java.net.http.HttpRequest.newBuilder(URI.create(holder.endpoint() + "/v1/audit"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString(hostile)).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(400, response.statusCode(), response.body());
        assertTrue(response.body().contains("bad audit range"), response.body());
      }
      long grew = rt.totalMemory() - rt.freeMemory() - usedBefore;
      assertTrue(grew < 512L << 20, "8 hostile audits grew the heap by " + (grew >> 20) + " MiB");
      // An offset past the end with a length that would overflow when added: refused, not read.
      AuditChallenge past = new AuditChallenge(id, bytes(32, 10), List.of(new long[] {Long.MAX_VALUE - 5, 1000}));
      assertTrue(assertThrowsIo(() -> client.audit(holder.endpoint(), past)).contains("400"));
      // The holder still answers honest audits.
      AuditChallenge honest = new AuditChallenge(id, bytes(32, 11), List.of(new long[] {0, 100}));
      try (FileChannel f = FileChannel.open(Files.write(dir.resolve("copy2"), body))) {
        assertEquals(honest.answer(f), client.audit(holder.endpoint(), honest));
      }
    }
  }

  @Test
  void scrub_findsAFlippedBit_quarantinesAndStopsServingIt() throws Exception {
    byte[] good = bytes(30_000, 7);
    byte[] bad = bytes(30_000, 8);
    try (HolderServer holder = HolderServer.start(config())) {
      FragmentId keep = store(holder, good);
      FragmentId rot = store(holder, bad);
      flipByte(fragmentFile(rot), 12_345);
      assertEquals(1, holder.scrubOnce());
      assertEquals(-1, client.size(holder.endpoint(), rot));
      assertTrue(Files.exists(dir.resolve("data/quarantine").resolve(rot.hex())));
      assertArrayEquals(good, client.read(holder.endpoint(), keep, 0, good.length));
      assertEquals(1, holder.store().fragmentCount());
      assertEquals(good.length + bad.length, holder.store().usedBytes(),
          "quarantined bytes are still on the disk and count against the capacity");
      assertEquals(1, holder.metrics().corruptFound.sum());
      assertEquals(0, holder.scrubOnce(), "a clean store scrubs clean");
      String metrics = http.send(HttpRequest.newBuilder(URI.create(holder.endpoint() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertTrue(metrics.contains("narvault_holder_corrupt_fragments_total 1"), metrics);
      assertTrue(metrics.contains("narvault_holder_fragments 1"), metrics);
      assertEquals(0, holder.store().purgeQuarantine(Instant.now().minusSeconds(3600)), "just quarantined: kept");
      assertEquals(1, holder.store().purgeQuarantine(Instant.now().plusSeconds(1)));
      assertEquals(good.length, holder.store().usedBytes());
      assertTrue(Files.notExists(dir.resolve("data/quarantine").resolve(rot.hex())));
    }
  }

  @Test
  void identity_isCreatedOnceAndKeptAcrossRestarts() throws Exception {
    String first;
    try (HolderServer holder = HolderServer.start(config())) {
      first = holder.holderId();
    }
    Path key = dir.resolve("data/identity.key");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    try (HolderServer holder = HolderServer.start(config())) {
      assertEquals(first, holder.holderId());
    }
  }

  @Test
  void uploadCap_servesA4MiBFragmentNoFasterThanTheCap() throws Exception {
    byte[] body = bytes(4 << 20, 9);
    long cap = 2L << 20;
    try (HolderServer holder = HolderServer.start(config().withSpeeds(cap, 0))) {
      FragmentId id = store(holder, body);
      long start = System.nanoTime();
      HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(HolderClient.fragmentUri(holder.endpoint(), id)).build(),
          HttpResponse.BodyHandlers.ofByteArray());
      double seconds = (System.nanoTime() - start) / 1e9;
      assertArrayEquals(body, r.body());
      double floor = body.length / (cap * 1.25);
      assertTrue(seconds >= floor, "4 MiB at a 2 MiB/s cap took " + seconds + " s, less than " + floor + " s");
    }
  }
}
