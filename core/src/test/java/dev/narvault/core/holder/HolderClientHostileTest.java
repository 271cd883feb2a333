package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A holder is a stranger: one that trickles, stalls, or sends more than asked is a failed call
 * within a bounded time, and nothing it sends beyond the request is read into memory.
 */
class HolderClientHostileTest {
  private static final FragmentId ID = new FragmentId(HexFormat.of().formatHex(new byte[32]));
  private ServerSocket server;
  private Thread acceptor;

  /** What the fake holder does with each connection, after reading the request head. */
  @FunctionalInterface
  private interface Behaviour {
    void answer(OutputStream out) throws Exception;
  }

  private URI start(Behaviour behaviour) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread.ofVirtual().start(() -> {
            try (s) {
              readHead(s.getInputStream());
              behaviour.answer(s.getOutputStream());
            } catch (Exception e) {
              // the client gave up: expected
            }
          });
        } catch (IOException e) {
          return;
        }
      }
    });
    return URI.create("http://127.0.0.1:" + server.getLocalPort());
  }

  private static void readHead(InputStream in) throws IOException {
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        return;
      }
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  private static long elapsedMillis(long start) {
    return (System.nanoTime() - start) / 1_000_000;
  }

  @Test
  void aHolderThatTrickles_failsTheReadWithinItsDeadline() throws Exception {
    AtomicInteger sent = new AtomicInteger();
    URI holder = start(out -> {
      out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 65536\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // One byte every 100 ms: the headers came at once, the body would take 110 minutes.
      for (int i = 0; i < 65536; i++) {
        out.write(7);
        out.flush();
        sent.incrementAndGet();
        Thread.sleep(100);
      }
    });
    HolderClient client = new HolderClient(Duration.ofMillis(500));
    long start = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> client.read(holder, ID, 0, 65536));
    long took = elapsedMillis(start);
    // Deadline: 500 ms + 64 KiB at 256 KiB/s = 750 ms.
    assertTrue(took < 3000, "gave up after " + took + " ms");
    assertTrue(e.getMessage().contains("whole within"), e.getMessage());
    assertTrue(sent.get() < 100, "the trickle was cut off, not waited out");
  }

  @Test
  void aHolderThatSendsMoreThanAsked_failsAtOnce_withoutReadingItAll() throws Exception {
    URI holder = start(out -> {
      // Claims 1 GiB for a 100-byte range, and starts sending.
      out.write("HTTP/1.1 206 Partial Content\r\nContent-Length: 1073741824\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] junk = new byte[64 * 1024];
      for (int i = 0; i < 16 * 1024; i++) {
        out.write(junk);
      }
    });
    HolderClient client = new HolderClient(Duration.ofSeconds(5));
    long start = System.nanoTime();
    IOException e = assertThrows(IOException.class, () -> client.read(holder, ID, 0, 100));
    assertTrue(e.getMessage().contains("more than the 100 bytes"), e.getMessage());
    assertTrue(elapsedMillis(start) < 3000, "failed as soon as the bytes said so");
  }

  @Test
  void aHolderThatStallsAfterTheHeaders_failsTheStatusCall() throws Exception {
    URI holder = start(out -> {
      out.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"holderId\":".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      Thread.sleep(60_000);
    });
    HolderClient client = new HolderClient(Duration.ofMillis(400));
    long start = System.nanoTime();
    assertThrows(IOException.class, () -> client.status(holder));
    assertTrue(elapsedMillis(start) < 3000);
  }

  @Test
  void anHonestAnswerStillReads() throws Exception {
    byte[] body = new byte[300];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) i;
    }
    URI holder = start(out -> {
      out.write(("HTTP/1.1 206 Partial Content\r\nContent-Length: 300\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
    });
    assertArrayEquals(body, new HolderClient(Duration.ofSeconds(5)).read(holder, ID, 0, 300));
  }
}
