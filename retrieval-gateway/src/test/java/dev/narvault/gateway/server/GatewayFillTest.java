package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.archive.HolderHealth;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole NAR rebuilt by the gateway reads every fragment it spans at once, over loopback with
 * real holders: asked while the first is held back, each holder serves its fragment once, and
 * lost fragments are decoded from what is already read rather than asked for again. (How fast
 * that is against capped links is for {@code narvault bench gateway --holder-cap}.)
 */
class GatewayFillTest {
  /** Four data fragments of 4 MiB each. */
  private static final int NAR_LENGTH = 16 << 20;
  private static final long WAIT_SECONDS = 30;

  @TempDir
  Path dir;

  private LoopbackArchive archive;
  private final HttpClient http = HttpClient.newHttpClient();

  @AfterEach
  void stop() {
    http.close();
    if (archive != null) {
      archive.close();
    }
  }

  private URI start(long seed) throws Exception {
    return start(seed, false);
  }

  private URI start(long seed, boolean spread) throws Exception {
    archive = new LoopbackArchive(dir.resolve("archive"), NAR_LENGTH, seed);
    // A holder that failed is kept away from for a minute: long enough to be known down here.
    return archive.startGateway(new GatewayConfig(new InetSocketAddress("127.0.0.1", 0), 50)
        .withCache(new GatewayConfig.CacheSettings(Optional.of(dir.resolve("cache")), 0))
        .withSpreadReads(spread), new HolderHealth(Duration.ofMinutes(1), Duration.ofMinutes(1), System::nanoTime));
  }

  private long parityBytesServed() throws Exception {
    long sum = 0;
    for (int p = LoopbackArchive.DATA; p < LoopbackArchive.DATA + LoopbackArchive.PARITY; p++) {
      sum += archive.holderBytesServed(p);
    }
    return sum;
  }

  private CompletableFuture<HttpResponse<byte[]>> get(URI gateway) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(gateway + "/" + archive.nar.fileKey())).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void everyDataHolder_isAskedWhileTheFirstIsStillSending_andNoParityIsRead() throws Exception {
    URI gw = start(21);
    CountDownLatch first = archive.pause(0);
    CompletableFuture<HttpResponse<byte[]>> response = get(gw);
    for (int i = 1; i < LoopbackArchive.DATA; i++) {
      assertTrue(archive.stores.get(i).asked.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS),
          "holder " + i + " asked while holder 0 has not answered yet");
    }
    first.countDown();
    HttpResponse<byte[]> r = response.get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertArrayEquals(archive.narBytes, r.body());
    for (int p = LoopbackArchive.DATA; p < LoopbackArchive.DATA + LoopbackArchive.PARITY; p++) {
      assertEquals(0, archive.holderBytesServed(p), "parity holder " + p + " was not needed");
    }
    assertEquals(NAR_LENGTH, archive.holderBytesServed(), "each data block served once");
  }

  @Test
  void spreadReads_withAllHoldersUp_readParityHoldersToo_andServeTheNarByteExact() throws Exception {
    URI gw = start(23, true);
    HttpResponse<byte[]> r = get(gw).get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertArrayEquals(archive.narBytes, r.body());
    for (int p = LoopbackArchive.DATA; p < LoopbackArchive.DATA + LoopbackArchive.PARITY; p++) {
      assertTrue(archive.holderBytesServed(p) > 0, "parity holder " + p + " served some stripes");
    }
    long served = archive.holderBytesServed();
    assertTrue(served <= NAR_LENGTH + NAR_LENGTH / 16, served + " holder bytes for a NAR of " + NAR_LENGTH);
  }

  @Test
  void spreadReads_withAHolderKnownDown_readTheDataHoldersOnly() throws Exception {
    URI gw = start(24, true);
    archive.stopHolder(LoopbackArchive.DATA);
    // The first read finds the parity holder down (and is served whole all the same)...
    HttpResponse<byte[]> r = get(gw).get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertArrayEquals(archive.narBytes, r.body());
    // ...the next knows it and reads the data fragments only, each block once.
    long served = archive.holderBytesServed();
    long parity = parityBytesServed();
    r = get(gw).get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertArrayEquals(archive.narBytes, r.body());
    assertEquals(parity, parityBytesServed(), "no parity read");
    assertEquals(NAR_LENGTH, archive.holderBytesServed() - served, "each data block served once");
  }

  @Test
  void withMDataHoldersDown_theNarCostsAboutOneHolderBytePerByte() throws Exception {
    URI gw = start(22);
    archive.stopHolder(1);
    archive.stopHolder(2);
    HttpResponse<byte[]> r = get(gw).get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertArrayEquals(archive.narBytes, r.body());
    long served = archive.holderBytesServed();
    // Fragments 0 and 3 serve themselves and, read back from the gateway's file, the decoding of
    // 1 and 2; the two parity fragments are read once. Decoding each lost piece from k holders
    // afresh would cost 2.5 times the NAR.
    assertTrue(served <= NAR_LENGTH + NAR_LENGTH / 16, served + " holder bytes for a NAR of " + NAR_LENGTH);
  }
}
