package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The raw upload: the bytes the holder receives are the fragment's (a pack slice, zero-padded),
 * with its order's headers; a holder that refuses early is heard, one that stops reading or
 * answering is cut off at the deadline, and one that answers too much or garbage is a failure.
 */
class FragmentPutTest {
  @TempDir
  Path dir;
  private ServerSocket server;

  private URI start(RawHttp.Exchange behaviour) throws IOException {
    server = RawHttp.serve(behaviour);
    return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/v1/fragments/abc?blockSize=65536");
  }

  private static long contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        return Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
      }
    }
    return -1;
  }

  private static void answer(OutputStream out, int status, String text) throws IOException {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    out.write(("HTTP/1.1 " + status + " Whatever\r\nContent-Length: " + body.length + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
  }

  private Path pack(int size) throws IOException {
    byte[] bytes = new byte[size];
    new Random(size).nextBytes(bytes);
    Path file = dir.resolve("pack");
    Files.write(file, bytes);
    return file;
  }

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anHonestHolderReceivesTheFragmentsBytesAndHeaders_zeroPaddedPastThePacksEnd() throws Exception {
    Path pack = pack(3_000_001);
    // RS(3,m): the last data fragment holds 999 999 pack bytes and 2 zeros.
    FragmentBytes last = FragmentBytes.slice(pack, 2_000_002, 1_000_001);
    CompletableFuture<byte[]> received = new CompletableFuture<>();
    CompletableFuture<String> heads = new CompletableFuture<>();
    URI uri = start((head, in, out) -> {
      heads.complete(head);
      received.complete(in.readNBytes((int) contentLength(head)));
      answer(out, 201, "stored\n");
    });
    FragmentPut.Answer a = FragmentPut.put(uri, Map.of("X-Narvault-Order", "order text", "X-Narvault-Signature", "sig"),
        last, 5_000, 10_000, 1024);
    assertEquals(201, a.status());
    assertEquals("stored\n", a.text());
    byte[] expected;
    try (InputStream in = last.open()) {
      expected = in.readAllBytes();
    }
    assertArrayEquals(expected, received.get(5, TimeUnit.SECONDS));
    assertArrayEquals(new byte[2], Arrays.copyOfRange(expected, 999_999, 1_000_001));
    String head = heads.get();
    assertTrue(head.startsWith("PUT /v1/fragments/abc?blockSize=65536 HTTP/1.1\r\n"), head);
    assertTrue(head.contains("\r\nContent-Length: 1000001\r\n"), head);
    assertTrue(head.contains("\r\nX-Narvault-Order: order text\r\n"), head);
  }

  @Test
  void aHolderThatRefusesBeforeTheBodyAndCloses_isHeard() throws Exception {
    Path pack = pack(32 << 20);
    URI uri = start((head, in, out) -> answer(out, 403, "order expired\n"));
    FragmentPut.Answer a = FragmentPut.put(uri, Map.of(), FragmentBytes.of(pack), 5_000, 20_000, 1024);
    assertEquals(403, a.status());
    assertEquals("order expired\n", a.text());
  }

  @Test
  void aHolderThatStopsReading_isCutOffAtTheDeadline() throws Exception {
    Path pack = pack(64 << 20);
    CountDownLatch release = new CountDownLatch(1);
    URI uri = start((head, in, out) -> release.await());
    long start = System.nanoTime();
    try {
      assertThrows(FragmentPut.DeadlineException.class,
          () -> FragmentPut.put(uri, Map.of(), FragmentBytes.of(pack), 5_000, 700, 1024));
    } finally {
      release.countDown();
    }
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(millis >= 600 && millis < 5_000, millis + " ms");
  }

  @Test
  void aHolderThatTakesTheBodyButNeverAnswers_isCutOffAtTheDeadline() throws Exception {
    Path pack = pack(1 << 20);
    CountDownLatch release = new CountDownLatch(1);
    URI uri = start((head, in, out) -> {
      in.readNBytes((int) contentLength(head));
      release.await();
    });
    try {
      assertThrows(FragmentPut.DeadlineException.class,
          () -> FragmentPut.put(uri, Map.of(), FragmentBytes.of(pack), 5_000, 500, 1024));
    } finally {
      release.countDown();
    }
  }

  @Test
  void tooLongOrMalformedAnswersFail() throws Exception {
    Path pack = pack(10_000);
    URI tooLong = start((head, in, out) -> {
      in.readNBytes((int) contentLength(head));
      answer(out, 201, "x".repeat(5000));
    });
    IOException e = assertThrows(IOException.class,
        () -> FragmentPut.put(tooLong, Map.of(), FragmentBytes.of(pack), 5_000, 10_000, 1024));
    assertTrue(e.getMessage().contains("over 1024 bytes"), e.getMessage());
    server.close();
    URI garbage = start((head, in, out) -> {
      in.readNBytes((int) contentLength(head));
      out.write("SSH-2.0-OpenSSH\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    });
    e = assertThrows(IOException.class,
        () -> FragmentPut.put(garbage, Map.of(), FragmentBytes.of(pack), 5_000, 10_000, 1024));
    assertTrue(e.getMessage().contains("malformed status line"), e.getMessage());
  }

  @Test
  void anInterruptedUploadStopsAtOnce() throws Exception {
    Path pack = pack(64 << 20);
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch sending = new CountDownLatch(1);
    URI uri = start((head, in, out) -> {
      sending.countDown();
      release.await();
    });
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread uploader = Thread.ofPlatform().start(() -> {
      try {
        FragmentPut.put(uri, Map.of(), FragmentBytes.of(pack), 5_000, 60_000, 1024);
        outcome.complete(null);
      } catch (Throwable t) {
        outcome.complete(t);
      }
    });
    try {
      assertTrue(sending.await(5, TimeUnit.SECONDS));
      uploader.interrupt();
      assertTrue(outcome.get(5, TimeUnit.SECONDS) instanceof InterruptedIOException, String.valueOf(outcome.get()));
    } finally {
      release.countDown();
    }
  }

  @Test
  void onlyPlainHttp() {
    assertThrows(IllegalArgumentException.class, () -> FragmentPut.put(URI.create("https://example.org/x"), Map.of(),
        FragmentBytes.slice(dir.resolve("none"), 0, 0), 1000, 1000, 1024));
  }

  @Test
  void aFileThatFailsMidBodyFailsAtOnce_notAtTheDeadline() throws Exception {
    Path pack = pack(4 << 20);
    FragmentBytes whole = FragmentBytes.of(pack);
    Files.write(pack, new byte[1000]);
    CountDownLatch release = new CountDownLatch(1);
    URI uri = start((head, in, out) -> {
      in.readNBytes((int) contentLength(head));
      release.await();
    });
    long start = System.nanoTime();
    try {
      assertThrows(FragmentBytes.SourceException.class,
          () -> FragmentPut.put(uri, Map.of(), whole, 5_000, 30_000, 1024));
    } finally {
      release.countDown();
    }
    assertTrue((System.nanoTime() - start) / 1_000_000 < 10_000);
  }

  @Test
  void interimAnswersAreSkipped_andASuccessFramedOtherwiseEndsWithItsHead() throws Exception {
    Path pack = pack(10_000);
    CountDownLatch release = new CountDownLatch(1);
    URI uri = start((head, in, out) -> {
      in.readNBytes((int) contentLength(head));
      out.write(("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // The body never comes, nor the close: a success is not waited on for it.
      release.await();
    });
    try {
      FragmentPut.Answer a = FragmentPut.put(uri, Map.of(), FragmentBytes.of(pack), 5_000, 20_000, 1024);
      assertEquals(201, a.status());
    } finally {
      release.countDown();
    }
  }
}
