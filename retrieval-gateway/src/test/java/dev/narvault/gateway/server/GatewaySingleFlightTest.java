package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.Sha256Hash;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single flight over loopback, real holders and a real gateway: one rebuild per NAR however
 * many clients ask, each client served at its own speed, and a failed rebuild cut short for every
 * client. Holders are paused to hold a rebuild at a known point (released long before any hedge
 * or timeout matters), never slept on.
 */
class GatewaySingleFlightTest {
  /** Four data fragments of 4 MiB: with holders 2.. paused, a rebuild stops at 8 MiB. */
  private static final int NAR_LENGTH = 16 << 20;
  private static final long WAIT_SECONDS = 30;

  @TempDir
  static Path dir;

  static LoopbackArchive archive;
  static String path;
  private final HttpClient http = HttpClient.newHttpClient();
  private final ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
  private Path cacheDir;

  @BeforeAll
  static void start() throws IOException {
    archive = new LoopbackArchive(dir.resolve("archive"), NAR_LENGTH, 1);
    path = "/" + archive.nar.fileKey();
  }

  @AfterAll
  static void stop() {
    archive.close();
  }

  @AfterEach
  void stopGateway() {
    readers.shutdownNow();
    http.close();
    archive.stopGateway();
    archive.heal();
  }

  private URI startGateway(String name) throws IOException {
    cacheDir = dir.resolve(name);
    return archive.startGateway(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50)
        .withCache(new GatewayConfig.CacheSettings(Optional.of(cacheDir), 1L << 30)));
  }

  private HttpResponse<InputStream> open(URI gateway) throws Exception {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(gateway + path)).build(),
        HttpResponse.BodyHandlers.ofInputStream()).get(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  /** The rest of a body, or what reading it threw; never waits longer than {@link #WAIT_SECONDS}. */
  private byte[] rest(InputStream body) throws Exception {
    Future<byte[]> read = readers.submit(body::readAllBytes);
    return read.get(WAIT_SECONDS, TimeUnit.SECONDS);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] all = new byte[a.length + b.length];
    System.arraycopy(a, 0, all, 0, a.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }

  private static String fileHash(byte[] bytes) {
    return Sha256Hash.of(bytes).toNixString();
  }

  @Test
  void aStalledFirstClient_doesNotSlowASecond_andTheNarIsRebuiltOnce() throws Exception {
    URI gw = startGateway("cache-stalled");
    long servedBefore = archive.holderBytesServed();
    CountDownLatch release = archive.pause(2, 3, 4, 5);
    try (SlowClient first = new SlowClient(gw, path)) {
      assertEquals(200, first.readHead());
      first.readBody(1024);
      // The first client reads nothing more from here on; its socket buffers fill up.

      HttpResponse<InputStream> second = open(gw);
      assertEquals(200, second.statusCode());
      byte[] start = second.body().readNBytes(64 * 1024);
      assertEquals(1, archive.metric(gw, "narvault_gateway_nar_rebuilds_shared_total"),
          "the second client follows the first one's rebuild");
      release.countDown();
      byte[] whole = concat(start, rest(second.body()));
      assertEquals(NAR_LENGTH, whole.length);
      assertEquals(archive.nar.fileHash(), fileHash(whole), "the second client gets the whole NAR, verified");

      assertEquals(1024, first.bodyRead(), "...while the first is still stalled");
      long served = archive.holderBytesServed() - servedBefore;
      assertTrue(served >= NAR_LENGTH && served < 2L * NAR_LENGTH,
          "one rebuild from the holders: " + served + " bytes for a NAR of " + NAR_LENGTH);

      first.readBody(first.contentLength() - 1024);
      assertEquals(archive.nar.fileHash(), first.fileHash(), "the first client, reading again, gets it all too");
    }
  }

  @Test
  void aRebuildThatFails_cutsEveryClientShort_andLeavesNothingInTheCache() throws Exception {
    URI gw = startGateway("cache-failed");
    CountDownLatch release = archive.pause(1, 2, 3, 4, 5);
    HttpResponse<InputStream> first = open(gw);
    byte[] firstStart = first.body().readNBytes(64 * 1024);
    HttpResponse<InputStream> second = open(gw);
    byte[] secondStart = second.body().readNBytes(64 * 1024);
    assertEquals(1, archive.metric(gw, "narvault_gateway_nar_rebuilds_shared_total"));
    assertArrayEquals(Arrays.copyOf(archive.narBytes, 64 * 1024), firstStart);
    assertArrayEquals(firstStart, secondStart);

    // Every holder but the first now sends bad bytes: fragment 1's region cannot be rebuilt.
    for (int i = 1; i < archive.stores.size(); i++) {
      archive.stores.get(i).lying = true;
    }
    release.countDown();
    for (HttpResponse<InputStream> client : List.of(first, second)) {
      ExecutionException cut = assertThrows(ExecutionException.class, () -> rest(client.body()));
      assertInstanceOf(IOException.class, cut.getCause(), "a short body is an error, never a complete response");
    }
    try (Stream<Path> files = Files.list(cacheDir)) {
      assertEquals(List.of(), files.toList(), "no file kept, none left behind");
    }

    archive.heal();
    long servedBefore = archive.holderBytesServed();
    HttpResponse<InputStream> again = open(gw);
    assertEquals(200, again.statusCode());
    assertArrayEquals(archive.narBytes, rest(again.body()), "the next request rebuilds the NAR afresh");
    assertTrue(archive.holderBytesServed() - servedBefore >= NAR_LENGTH, "from the holders");
  }

  @Test
  void aRequestAfterTheRebuild_isServedFromTheCache() throws Exception {
    URI gw = startGateway("cache-after");
    assertArrayEquals(archive.narBytes, rest(open(gw).body()));
    long served = archive.holderBytesServed();
    long hits = archive.metric(gw, "narvault_gateway_nar_cache_hits_total");
    HttpResponse<InputStream> later = open(gw);
    assertEquals(200, later.statusCode());
    assertArrayEquals(archive.narBytes, rest(later.body()));
    assertEquals(hits + 1, archive.metric(gw, "narvault_gateway_nar_cache_hits_total"));
    assertEquals(served, archive.holderBytesServed(), "no holder was asked");
  }

  @Test
  void aKeptFileCutShortOnDisk_isReadFromTheHoldersInstead() throws Exception {
    URI gw = startGateway("cache-cut");
    assertArrayEquals(archive.narBytes, rest(open(gw).body()));
    // Another process sharing the directory, or a disk fault, empties the kept file.
    try (java.util.stream.Stream<java.nio.file.Path> files = Files.list(cacheDir)) {
      for (java.nio.file.Path f : files.filter(Files::isRegularFile).toList()) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
            java.nio.file.StandardOpenOption.WRITE)) {
          ch.truncate(0);
        }
      }
    }
    long served = archive.holderBytesServed();
    HttpResponse<InputStream> again = open(gw);
    assertEquals(200, again.statusCode());
    assertArrayEquals(archive.narBytes, rest(again.body()));
    assertTrue(archive.holderBytesServed() - served >= NAR_LENGTH, "from the holders");
  }

  @Test
  void aGatewayThatCannotWriteItsCache_stillServesTheNarFromTheHolders() throws Exception {
    URI gw = startGateway("cache-broken");
    Files.delete(cacheDir);
    Files.writeString(cacheDir, "a file where the cache's directory was");
    HttpResponse<InputStream> response = open(gw);
    assertEquals(200, response.statusCode());
    assertArrayEquals(archive.narBytes, rest(response.body()));
  }

  /**
   * A client on a raw socket with a tiny receive buffer, reading only as much as the test says:
   * once it stops, the gateway can send it little more.
   */
  private static final class SlowClient implements AutoCloseable {
    private final Socket socket = new Socket();
    private final InputStream in;
    private final MessageDigest digest = Sha256Hash.newDigest();
    private long contentLength = -1;
    private long bodyRead;

    SlowClient(URI gateway, String path) throws IOException {
      socket.setReceiveBufferSize(4096);
      socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
      socket.connect(new InetSocketAddress(gateway.getHost(), gateway.getPort()), 10_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: " + gateway.getHost() + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      in = socket.getInputStream();
    }

    /** Reads the response head; returns the status. */
    int readHead() throws IOException {
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("closed in the response head: " + head);
        }
        head.write(b);
      }
      String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
      for (String line : lines) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          contentLength = Long.parseLong(line.substring("content-length:".length()).strip());
        }
      }
      return Integer.parseInt(lines[0].split(" ")[1]);
    }

    void readBody(long n) throws IOException {
      byte[] bytes = in.readNBytes((int) n);
      if (bytes.length < n) {
        throw new IOException("body ended after " + (bodyRead + bytes.length) + " bytes");
      }
      digest.update(bytes);
      bodyRead += n;
    }

    long bodyRead() {
      return bodyRead;
    }

    long contentLength() {
      return contentLength;
    }

    String fileHash() {
      return new Sha256Hash(digest.digest()).toNixString();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
