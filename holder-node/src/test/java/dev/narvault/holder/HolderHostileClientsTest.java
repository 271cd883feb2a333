package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.Order;
import dev.narvault.core.http.ServerLimits;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients that misbehave on purpose, over raw sockets, against a real holder: each leaves the
 * holder serving honest clients, storing nothing it should not, and holding nothing for long.
 */
class HolderHostileClientsTest {
  private static final int BLOCK = 4096;
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  private final HolderClient client = new HolderClient(Duration.ofSeconds(5));

  @TempDir
  Path dir;

  private HolderServer start() throws IOException {
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), dir.resolve("data"), 64L << 20,
        COORDINATOR.publicKey()).withLimits(ServerLimits.defaults().withTimeouts(Duration.ofMillis(700),
            Duration.ofMillis(700))));
  }

  private static Socket connect(HolderServer holder) throws IOException {
    Socket s = new Socket(holder.address().getAddress(), holder.address().getPort());
    s.setSoTimeout(5000);
    return s;
  }

  /** True when the server closes the connection within the time (reads until end of stream). */
  private static boolean closedWithin(Socket s, int millis) throws IOException {
    s.setSoTimeout(millis);
    InputStream in = s.getInputStream();
    byte[] buf = new byte[64 * 1024];
    try {
      while (true) {
        if (in.read(buf) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  /** Bytes received until the server's end of stream, or -1 when a read waits longer than the time. */
  private static long bytesUntilClosed(Socket s, int millis) throws IOException {
    s.setSoTimeout(millis);
    InputStream in = s.getInputStream();
    byte[] buf = new byte[64 * 1024];
    long total = 0;
    try {
      for (int n; (n = in.read(buf)) >= 0; ) {
        total += n;
      }
      return total;
    } catch (SocketTimeoutException e) {
      return -1;
    } catch (IOException reset) {
      return total;
    }
  }

  private static String putHead(HolderServer holder, FragmentId id, long length) {
    Order.Signed o = new Order(Order.Action.PUT, id, length, BLOCK, holder.holderId(), Instant.now().plusSeconds(600))
        .signWith(COORDINATOR);
    return "PUT /v1/fragments/" + id.hex() + "?blockSize=" + BLOCK + " HTTP/1.1\r\nHost: h\r\n" + Order.HEADER + ": "
        + o.order().text() + "\r\n" + Order.SIGNATURE_HEADER + ": " + o.signature() + "\r\nContent-Length: " + length
        + "\r\n\r\n";
  }

  private long storedFiles() throws IOException {
    try (Stream<Path> s = Stream.concat(Files.walk(dir.resolve("data/fragments")), Files.list(dir.resolve("data/tmp")))) {
      return s.filter(Files::isRegularFile).count();
    }
  }

  private void assertHonestClientServed(HolderServer holder, byte[] bytes, FragmentId id) throws IOException {
    assertArrayEquals(bytes, client.read(holder.endpoint(), id, 0, bytes.length));
    assertEquals(holder.holderId(), client.status(holder.endpoint()).holderId());
  }

  @Test
  void aStalledUpload_isClosed_andReleasesItsReservation() throws Exception {
    byte[] bytes = TestFragments.bytes(100_000, 1);
    FragmentId id = TestFragments.idOf(bytes, BLOCK);
    try (HolderServer holder = start(); Socket s = connect(holder)) {
      OutputStream out = s.getOutputStream();
      out.write(putHead(holder, id, bytes.length).getBytes(StandardCharsets.US_ASCII));
      out.write(bytes, 0, 1000);
      out.flush();
      long reserved = 0;
      for (int i = 0; i < 50 && reserved == 0; i++) {
        reserved = holder.store().usedBytes();
        Thread.sleep(20);
      }
      assertEquals(bytes.length, reserved, "the upload reserved its length");
      assertTrue(closedWithin(s, 5000), "a stalled upload is closed");
      for (int i = 0; i < 100 && holder.store().usedBytes() != 0; i++) {
        Thread.sleep(20);
      }
      assertEquals(0, holder.store().usedBytes(), "and its reservation released");
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, storedFiles(), "nothing partial stays, not even in tmp/");
    }
  }

  @Test
  void aClientThatNeverReads_holdsOnlyItsSocket_andIsClosed() throws Exception {
    byte[] big = TestFragments.bytes(8 << 20, 2);
    FragmentId bigId = TestFragments.idOf(big, BLOCK);
    byte[] small = TestFragments.bytes(5000, 3);
    FragmentId smallId = TestFragments.idOf(small, BLOCK);
    try (HolderServer holder = start()) {
      for (byte[] b : new byte[][] {big, small}) {
        FragmentId id = TestFragments.idOf(b, BLOCK);
        client.put(holder.endpoint(), id, BLOCK, Files.write(Files.createTempFile(dir, "f", ""), b),
            new Order(Order.Action.PUT, id, b.length, BLOCK, holder.holderId(), Instant.now().plusSeconds(600))
                .signWith(COORDINATOR));
      }
      Socket[] readers = new Socket[8];
      for (int i = 0; i < readers.length; i++) {
        readers[i] = connect(holder);
        readers[i].setReceiveBufferSize(4096);
        readers[i].getOutputStream().write(("GET /v1/fragments/" + bigId.hex() + " HTTP/1.1\r\nHost: h\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
      }
      Thread.sleep(300);
      assertHonestClientServed(holder, small, smallId);
      // None of them reads: once its socket buffers are full, nothing moves, and past the idle
      // timeout the holder closes its side, though the client never closed its own.
      int open = readers.length;
      for (int i = 0; i < 200 && open > 0; i++) {
        Thread.sleep(50);
        open = holder.openConnections();
      }
      assertEquals(0, open, "downloads nobody reads are closed by the holder");
      for (Socket r : readers) {
        r.close();
      }
      assertHonestClientServed(holder, small, smallId);
    }
  }

  @Test
  void hugeHeaders_chunkedPuts_andGarbage_areRefused_andNothingIsStored() throws Exception {
    byte[] bytes = TestFragments.bytes(5000, 4);
    FragmentId id = TestFragments.idOf(bytes, BLOCK);
    try (HolderServer holder = start()) {
      try (Socket s = connect(holder)) {
        String head = putHead(holder, id, bytes.length).replace("\r\n\r\n", "\r\nX-Pad: " + "a".repeat(20_000)
            + "\r\n\r\n");
        s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        assertEquals("HTTP/1.1 431", answer);
      }
      try (Socket s = connect(holder)) {
        String head = putHead(holder, id, bytes.length).replace("Content-Length: " + bytes.length,
            "Transfer-Encoding: chunked");
        s.getOutputStream().write((head + "1388\r\n").getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().write(bytes);
        s.getOutputStream().write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals("HTTP/1.1 411", new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII));
      }
      try (Socket s = connect(holder)) {
        s.getOutputStream().write("\u0000\u0001GARBAGE /\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals("HTTP/1.1 400", new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII));
        assertTrue(closedWithin(s, 3000));
      }
      assertEquals(0, holder.store().fragmentCount());
      assertEquals(0, holder.store().usedBytes());
      assertEquals(0, storedFiles());
      assertEquals(-1, client.size(holder.endpoint(), id));
    }
  }
}
