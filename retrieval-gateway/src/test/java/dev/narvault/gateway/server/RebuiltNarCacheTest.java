package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    try (RebuiltNarCache.Rebuild rebuild = cache.begin(key, bytes.length, fileHash, Duration.ofSeconds(1)).orElseThrow()) {
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

  @Test
  void aSecondRequestWaitsForTheRebuildInFlightAndThenFindsIt() throws Exception {
    try (RebuiltNarCache cache = RebuiltNarCache.open(Optional.of(dir), 10 << 20)) {
      byte[] bytes = nar(300_000, 7);
      RebuiltNarCache.Rebuild first = cache.begin("d", bytes.length, fileHash(bytes), Duration.ofSeconds(1)).orElseThrow();
      CompletableFuture<Optional<RebuiltNarCache.Rebuild>> second = CompletableFuture.supplyAsync(() -> {
        try {
          return cache.begin("d", bytes.length, fileHash(bytes), Duration.ofSeconds(30));
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      Thread.sleep(200);
      assertFalse(second.isDone(), "the second request waits while the first rebuilds");
      try (first) {
        first.alongside(OutputStream.nullOutputStream()).write(bytes);
        first.commit();
      }
      assertTrue(second.get(10, TimeUnit.SECONDS).isEmpty(), "no second rebuild");
      assertArrayEquals(bytes, cached(cache, "d", 0, bytes.length));
    }
  }
}
