package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Fragment reads on kept-alive connections ({@link RangeConnections} under {@link HolderClient#read}):
 * reuse, a kept connection the holder closed, refusals, short bodies, cancellation. The holder is
 * a hand-written HTTP/1.1 server on loopback that records what it was asked.
 */
class HolderClientConnectionsTest {
  private static final FragmentId ID = new FragmentId(HexFormat.of().formatHex(new byte[32]));
  private final AtomicInteger connections = new AtomicInteger();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private ServerSocket server;

  /** What the holder does with the n-th request of a connection; false closes the connection. */
  @FunctionalInterface
  private interface Answer {
    boolean answer(int n, String head, OutputStream out) throws Exception;
  }

  private URI start(Answer answer) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          connections.incrementAndGet();
          Thread.ofVirtual().start(() -> serve(s, answer));
        } catch (IOException e) {
          return;
        }
      }
    });
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  private void serve(Socket s, Answer answer) {
    try (s) {
      InputStream in = s.getInputStream();
      for (int n = 0; ; n++) {
        String head = readHead(in);
        if (head == null) {
          return;
        }
        requests.add(head);
        if (!answer.answer(n, head, s.getOutputStream())) {
          return;
        }
      }
    } catch (Exception e) {
      // the client gave up: expected in some tests
    }
  }

  private static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return null;
      }
      head.append((char) b);
    }
    return head.toString();
  }

  private static byte[] bytes(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  private static void partial(OutputStream out, byte[] body, String extraHeaders) throws IOException {
    out.write(("HTTP/1.1 206 Partial Content\r\nContent-Length: " + body.length + "\r\n" + extraHeaders + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void readsOneAfterAnother_shareOneConnection_andAskForTheRange() throws Exception {
    URI holder = start((n, head, out) -> {
      partial(out, bytes(1000, n), "");
      return true;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    for (int i = 0; i < 5; i++) {
      assertArrayEquals(bytes(1000, i), client.read(holder, ID, 4096L * i, 1000));
    }
    assertEquals(1, connections.get(), "one kept-alive connection for five reads");
    assertTrue(requests.get(3).startsWith("GET /v1/fragments/" + ID.hex() + " HTTP/1.1\r\n"), requests.get(3));
    assertTrue(requests.get(3).contains("\r\nRange: bytes=12288-13287\r\n"), requests.get(3));
  }

  @Test
  void aKeptConnectionTheHolderClosed_isReplaced_andTheReadSucceeds() throws Exception {
    // Answers once per connection and hangs up without saying so: the kept connection is dead.
    URI holder = start((n, head, out) -> {
      partial(out, bytes(500, 7), "");
      return false;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(bytes(500, 7), client.read(holder, ID, 0, 500));
    }
    assertEquals(3, connections.get());
  }

  @Test
  void connectionClose_isHonoured() throws Exception {
    URI holder = start((n, head, out) -> {
      partial(out, bytes(10, n), "Connection: close\r\n");
      return true;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    client.read(holder, ID, 0, 10);
    client.read(holder, ID, 0, 10);
    assertEquals(2, connections.get(), "a connection the holder said it closes is not used again");
  }

  @Test
  void aRefusal_carriesTheStatus_andKeepsTheConnection() throws Exception {
    URI holder = start((n, head, out) -> {
      if (n == 0) {
        out.write("HTTP/1.1 404 Not Found\r\nContent-Length: 12\r\n\r\nno fragment\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } else {
        partial(out, bytes(64, 1), "");
      }
      return true;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    HolderRefusedException refused = assertThrows(HolderRefusedException.class, () -> client.read(holder, ID, 0, 64));
    assertEquals(404, refused.status());
    assertArrayEquals(bytes(64, 1), client.read(holder, ID, 0, 64));
    assertEquals(1, connections.get());
  }

  @Test
  void aBodyCutShort_failsWithWhatArrived() throws Exception {
    URI holder = start((n, head, out) -> {
      out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 300\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(bytes(100, 0));
      out.flush();
      return false;
    });
    IOException e = assertThrows(IOException.class, () -> new HolderClient(Duration.ofSeconds(5)).read(holder, ID, 0, 300));
    assertTrue(e.getMessage().contains("sent 100 of 300 bytes"), e.getMessage());
  }

  @Test
  void aShorterAnswerThanAsked_fails() throws Exception {
    URI holder = start((n, head, out) -> {
      partial(out, bytes(200, 0), "");
      return true;
    });
    IOException e = assertThrows(IOException.class, () -> new HolderClient(Duration.ofSeconds(5)).read(holder, ID, 0, 300));
    assertTrue(e.getMessage().contains("sent 200 of 300 bytes"), e.getMessage());
  }

  @Test
  void readStart_ofAFragmentShorterThanAsked_givesWhatThereIs_butNotNothing() throws Exception {
    URI holder = start((n, head, out) -> {
      partial(out, bytes(n == 0 ? 5 : 0, 0), "");
      return true;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    assertArrayEquals(bytes(5, 0), client.readStart(holder, ID, 16));
    IOException e = assertThrows(IOException.class, () -> client.readStart(holder, ID, 16));
    assertTrue(e.getMessage().contains("sent 0 of 16 bytes"), e.getMessage());
  }

  @Test
  void idleConnections_areKeptUpToALimitInAll_notPerHolder() throws Exception {
    List<ServerSocket> servers = new ArrayList<>();
    try {
      List<URI> holders = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        servers.add(socket);
        Thread.ofVirtual().start(() -> {
          while (!socket.isClosed()) {
            try {
              Socket s = socket.accept();
              connections.incrementAndGet();
              Thread.ofVirtual().start(() -> serve(s, (n, head, out) -> {
                partial(out, bytes(10, n), "");
                return true;
              }));
            } catch (IOException e) {
              return;
            }
          }
        });
        holders.add(URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/v1/fragments/" + ID.hex()));
      }
      RangeConnections pool = new RangeConnections(Duration.ofSeconds(5), 2);
      for (int round = 0; round < 2; round++) {
        for (URI h : holders) {
          assertEquals(206, pool.get(h, 0, 10, java.util.Map.of(), System.nanoTime() + 5_000_000_000L, 100).status());
        }
        assertEquals(2, pool.idleConnections(), "two kept, the third closed after use");
      }
      assertEquals(4, connections.get(), "the first two holders' connections used again, the third's opened twice");
    } finally {
      for (ServerSocket socket : servers) {
        socket.close();
      }
    }
  }

  @Test
  void garbageInsteadOfHttp_fails() throws Exception {
    URI holder = start((n, head, out) -> {
      out.write("SSH-2.0-OpenSSH_9.2\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return false;
    });
    IOException e = assertThrows(IOException.class, () -> new HolderClient(Duration.ofSeconds(5)).read(holder, ID, 0, 10));
    assertTrue(e.getMessage().contains("malformed status line"), e.getMessage());
  }

  @Test
  void anEndlessHead_failsAtItsBound() throws Exception {
    URI holder = start((n, head, out) -> {
      out.write("HTTP/1.1 206 Partial Content\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] header = "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < 100_000; i++) {
        out.write(header);
      }
      return false;
    });
    IOException e = assertThrows(IOException.class, () -> new HolderClient(Duration.ofSeconds(5)).read(holder, ID, 0, 10));
    assertTrue(e.getMessage().contains("response head over"), e.getMessage());
  }

  @Test
  void aCancelledRead_stopsAtOnce_onAVirtualThread() throws Exception {
    URI holder = start((n, head, out) -> {
      out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 1000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(60_000);
      return false;
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(30));
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread reader = Thread.ofVirtual().start(() -> {
      try {
        client.read(holder, ID, 0, 1000);
        outcome.complete(null);
      } catch (Throwable t) {
        outcome.complete(t);
      }
    });
    while (requests.isEmpty()) {
      Thread.sleep(5);
    }
    long start = System.nanoTime();
    reader.interrupt();
    Throwable t = outcome.get(5, TimeUnit.SECONDS);
    assertInstanceOf(InterruptedIOException.class, t);
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3), "stopped when interrupted, not at the deadline");
  }

}
