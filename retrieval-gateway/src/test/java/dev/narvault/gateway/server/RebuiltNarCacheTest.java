package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.Sha256Hash;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's disk cache of rebuilt NARs, on a real directory. */
class RebuiltNarCacheTest {
  @TempDir
  Path dir;

  private static byte[] nar(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static String fileHash(byte[] bytes) {
    return Sha256Hash.of(bytes).toNixString();
  }

  /** Rebuilds a NAR through the cache the way the gateway does: client and cache fed together. */
  private static byte[] rebuild(RebuiltNarCache cache, String key, byte[] bytes, String fileHash) throws IOException {
    ByteArrayOutputStream client = new ByteArrayOutputStream();
    try (RebuiltNarCache.Rebuild rebuild = (RebuiltNarCache.Rebuild) cache.begin(key, bytes.length, fileHash)) {
      OutputStream both = rebuild.alongside(client);
      for (int at = 0; at < bytes.length; at += 10_000) {
        both.write(bytes, at, Math.min(10_000, bytes.length - at));
      }
      rebuild.commit();
    }
    return client.toByteArray();
  }

  private static byte[] cached(RebuiltNarCache cache, String key, long from, long length) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    return cache.copyTo(key, from, length, out) ? out.toByteArray() : null;
  }

  @Test
  void wholeMatchingNar_isKeptAndServedByRange() throws IOException {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(700_000, 1);
      assertArrayEquals(bytes, rebuild(cache, "nar/a.nar.xz", bytes, fileHash(bytes)), "the client gets every byte");
      assertArrayEquals(bytes, cached(cache, "nar/a.nar.xz", 0, bytes.length));
      assertArrayEquals(Arrays.copyOfRange(bytes, 262_000, 600_001), cached(cache, "nar/a.nar.xz", 262_000, 338_001),
          "a range across the 256 KiB copy steps");
    }
  }

  @Test
  void bytesThatDoNotMatchTheFileHash_areServedButNeverKept() throws IOException {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(100_000, 2);
      byte[] other = nar(100_000, 3);
      assertArrayEquals(bytes, rebuild(cache, "nar/b.nar.xz", bytes, fileHash(other)));
      assertEquals(null, cached(cache, "nar/b.nar.xz", 0, 10));
      try (var files = Files.list(dir)) {
        assertEquals(0, files.count(), "the temporary file is gone too");
      }
    }
  }

  @Test
  void leastRecentlyUsed_isDroppedToStayWithinTheSize() throws IOException {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 250_000)) {
      byte[] a = nar(100_000, 4);
      byte[] b = nar(100_000, 5);
      byte[] c = nar(100_000, 6);
      rebuild(cache, "a", a, fileHash(a));
      rebuild(cache, "b", b, fileHash(b));
      assertTrue(cached(cache, "a", 0, 1) != null, "a is used again, so b is now the oldest");
      rebuild(cache, "c", c, fileHash(c));
      assertEquals(null, cached(cache, "b", 0, 1));
      assertArrayEquals(a, cached(cache, "a", 0, a.length));
      assertArrayEquals(c, cached(cache, "c", 0, c.length));
    }
  }

  /** A client that records how much it has received, for watching a follower's progress. */
  private static final class Client extends ByteArrayOutputStream {
    synchronized int received() {
      return size();
    }

    void awaitAtLeast(int bytes) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (received() < bytes) {
        assertTrue(System.nanoTime() < deadline, "the follower got " + received() + " of " + bytes + " bytes");
        Thread.sleep(5);
      }
    }
  }

  private static CompletableFuture<Long> follow(RebuiltNarCache.Flight flight, OutputStream client, Duration stall) {
    RebuiltNarCache.Follower follower = (RebuiltNarCache.Follower) flight;
    return CompletableFuture.supplyAsync(() -> {
      try {
        return follower.copyTo(client, stall);
      } catch (IOException e) {
        throw new RuntimeException(e);
      }
    });
  }

  @Test
  void aSecondRequest_followsTheRebuildInFlight_receivingBytesAsTheyAreWritten() throws Exception {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(900_000, 7);
      RebuiltNarCache.Rebuild first = (RebuiltNarCache.Rebuild) cache.begin("d", bytes.length, fileHash(bytes));
      RebuiltNarCache.Flight second = cache.begin("d", bytes.length, fileHash(bytes));
      assertInstanceOf(RebuiltNarCache.Follower.class, second, "no second rebuild");
      Client client = new Client();
      CompletableFuture<Long> followed = follow(second, client, Duration.ofSeconds(30));
      OutputStream leader = first.alongside(OutputStream.nullOutputStream());
      leader.write(bytes, 0, 400_000);
      client.awaitAtLeast(400_000);
      assertFalse(followed.isDone(), "the follower waits for the rest");
      try (first) {
        leader.write(bytes, 400_000, bytes.length - 400_000);
        first.commit();
      }
      assertEquals(bytes.length, followed.get(10, TimeUnit.SECONDS));
      assertArrayEquals(bytes, client.toByteArray());
      assertArrayEquals(bytes, cached(cache, "d", 0, bytes.length), "and it is kept");
    }
  }

  @Test
  void aFollowerOfARebuildThatFails_getsWhatWasWritten_andNoMore() throws Exception {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(500_000, 8);
      RebuiltNarCache.Rebuild first = (RebuiltNarCache.Rebuild) cache.begin("e", bytes.length, fileHash(bytes));
      Client client = new Client();
      CompletableFuture<Long> followed = follow(cache.begin("e", bytes.length, fileHash(bytes)), client,
          Duration.ofSeconds(30));
      try (first) {
        first.alongside(OutputStream.nullOutputStream()).write(bytes, 0, 123_456);
        client.awaitAtLeast(123_456);
        // The holders fail here: no commit.
      }
      assertEquals(123_456, followed.get(10, TimeUnit.SECONDS), "the caller reads the rest elsewhere");
      assertArrayEquals(Arrays.copyOf(bytes, 123_456), client.toByteArray());
      assertTrue(cache.begin("e", bytes.length, fileHash(bytes)) instanceof RebuiltNarCache.Rebuild r && close(r),
          "the next request rebuilds");
    }
  }

  private static boolean close(RebuiltNarCache.Rebuild r) {
    r.close();
    return true;
  }

  @Test
  void aFollower_stopsWhenTheRebuildStalls() throws Exception {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(200_000, 9);
      try (RebuiltNarCache.Rebuild first = (RebuiltNarCache.Rebuild) cache.begin("f", bytes.length, fileHash(bytes))) {
        first.alongside(OutputStream.nullOutputStream()).write(bytes, 0, 50_000);
        Client client = new Client();
        long start = System.nanoTime();
        long got = follow(cache.begin("f", bytes.length, fileHash(bytes)), client, Duration.ofMillis(300))
            .get(10, TimeUnit.SECONDS);
        assertEquals(50_000, got);
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(300), "it waited the stall out");
      }
    }
  }

  @Test
  void aNarLargerThanTheCache_isNeitherKeptNorShared() throws Exception {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 1000)) {
      byte[] bytes = nar(5000, 10);
      try (RebuiltNarCache.Rebuild first = (RebuiltNarCache.Rebuild) cache.begin("g", bytes.length, fileHash(bytes));
          RebuiltNarCache.Rebuild second = (RebuiltNarCache.Rebuild) cache.begin("g", bytes.length, fileHash(bytes))) {
        assertTrue(first != second);
      }
      try (var files = Files.list(dir)) {
        assertEquals(0, files.count(), "nothing written to disk");
      }
    }
  }
}
