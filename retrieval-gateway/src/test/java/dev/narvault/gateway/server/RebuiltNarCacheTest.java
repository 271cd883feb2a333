package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.pack.RangeFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's disk cache of rebuilt NARs and its single flight, on a real directory, with
 * rebuilds the test writes step by step ({@link ScriptedFill}) and clients that record what they
 * received ({@link Client}).
 */
class RebuiltNarCacheTest {
  private static final Duration STALL = Duration.ofSeconds(30);

  @TempDir
  Path dir;

  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  private static byte[] nar(int size, long seed) {
    byte[] bytes = new byte[size];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  private static String fileHash(byte[] bytes) {
    return Sha256Hash.of(bytes).toNixString();
  }

  private RebuiltNarCache open(long maxBytes) throws IOException {
    return open(maxBytes, 64 << 20);
  }

  private RebuiltNarCache open(long maxBytes, long spoolBytes) throws IOException {
    return RebuiltNarCache.open(Optional.of(dir), maxBytes, spoolBytes, threads);
  }

  /** A follower of the NAR through the cache, which must have room for it. */
  private static RebuildRelay.Follower relay(RebuiltNarCache cache, String key, long length, String fileHash,
      RebuildRelay.Fill fill) throws IOException {
    return cache.follow(key, length, fileHash, fill).orElseThrow();
  }

  /** Rebuilds a NAR through the cache in one go, as one client that reads it all; returns what it got. */
  private static byte[] rebuild(RebuiltNarCache cache, String key, byte[] bytes, String fileHash) throws IOException {
    ByteArrayOutputStream client = new ByteArrayOutputStream();
    try (RebuildRelay.Follower f = relay(cache, key, bytes.length, fileHash, file -> {
      for (int at = 0; at < bytes.length; at += 10_000) {
        file.write(at, bytes, at, Math.min(10_000, bytes.length - at));
      }
    })) {
      f.copyTo(client, STALL);
    }
    return client.toByteArray();
  }

  private static byte[] cached(RebuiltNarCache cache, String key, long from, long length) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    return cache.copyTo(key, from, length, out) ? out.toByteArray() : null;
  }

  private List<Path> files() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.toList();
    }
  }

  /** Streams a follower to {@code client} on a thread of its own; the future fails as copyTo does. */
  private Future<Void> follow(RebuildRelay.Follower follower, OutputStream client) {
    return threads.submit(() -> {
      try (follower) {
        follower.copyTo(client, STALL);
      }
      return null;
    });
  }

  private static IOException failure(Future<?> f) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    return (IOException) e.getCause();
  }

  @Test
  void wholeMatchingNar_isKeptAndServedByRange() throws IOException {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(700_000, 1);
      assertArrayEquals(bytes, rebuild(cache, "nar/a.nar.xz", bytes, fileHash(bytes)), "the client gets every byte");
      assertArrayEquals(bytes, cached(cache, "nar/a.nar.xz", 0, bytes.length));
      assertArrayEquals(Arrays.copyOfRange(bytes, 262_000, 600_001), cached(cache, "nar/a.nar.xz", 262_000, 338_001),
          "a range across the 256 KiB copy steps");
    }
  }

  @Test
  void bytesThatDoNotMatchTheFileHash_areNeverEndedNorKept() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(100_000, 2);
      ScriptedFill fill = new ScriptedFill();
      Client client = new Client();
      Future<Void> followed = follow(relay(cache, "nar/b.nar.xz", bytes.length, fileHash(nar(100_000, 3)), fill),
          client);
      fill.write(bytes);
      client.awaitAtLeast(bytes.length - 1);
      assertFalse(followed.isDone(), "the last byte waits for the file's hash");
      fill.end();
      assertTrue(failure(followed).getMessage().contains("does not match its FileHash"));
      assertEquals(bytes.length - 1, client.received(), "which never matches: the client never gets it");
      assertNull(cached(cache, "nar/b.nar.xz", 0, 10));
      assertEquals(List.of(), files(), "the temporary file is gone too");
    }
  }

  @Test
  void leastRecentlyUsed_isDroppedToStayWithinTheSize() throws IOException {
    try (RebuiltNarCache cache = open(250_000)) {
      byte[] a = nar(100_000, 4);
      byte[] b = nar(100_000, 5);
      byte[] c = nar(100_000, 6);
      rebuild(cache, "a", a, fileHash(a));
      rebuild(cache, "b", b, fileHash(b));
      assertTrue(cached(cache, "a", 0, 1) != null, "a is used again, so b is now the oldest");
      rebuild(cache, "c", c, fileHash(c));
      assertNull(cached(cache, "b", 0, 1));
      assertArrayEquals(a, cached(cache, "a", 0, a.length));
      assertArrayEquals(c, cached(cache, "c", 0, c.length));
      assertEquals(2, files().size());
    }
  }

  @Test
  void aSecondRequest_followsTheRebuildInFlight_receivingBytesAsTheyAreWritten() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(900_000, 7);
      ScriptedFill fill = new ScriptedFill();
      RebuildRelay.Follower first = relay(cache, "d", bytes.length, fileHash(bytes), fill);
      RebuildRelay.Follower second = relay(cache, "d", bytes.length, fileHash(bytes), new ScriptedFill());
      assertEquals(RebuildRelay.Origin.STARTED, first.origin());
      assertEquals(RebuildRelay.Origin.SHARED, second.origin(), "no second rebuild");
      Client one = new Client();
      Client two = new Client();
      Future<Void> followedOne = follow(first, one);
      Future<Void> followedTwo = follow(second, two);
      fill.write(Arrays.copyOf(bytes, 400_000));
      one.awaitAtLeast(400_000);
      two.awaitAtLeast(400_000);
      assertFalse(followedTwo.isDone(), "the follower waits for the rest");
      fill.write(Arrays.copyOfRange(bytes, 400_000, bytes.length));
      fill.end();
      followedOne.get(10, TimeUnit.SECONDS);
      followedTwo.get(10, TimeUnit.SECONDS);
      assertArrayEquals(bytes, one.toByteArray());
      assertArrayEquals(bytes, two.toByteArray());
      assertEquals(1, fill.runs, "one rebuild");
      assertArrayEquals(bytes, cached(cache, "d", 0, bytes.length), "and it is kept");
      try (RebuildRelay.Follower later = relay(cache, "d", bytes.length, fileHash(bytes), new ScriptedFill())) {
        assertEquals(RebuildRelay.Origin.CACHE, later.origin(), "a request after the rebuild reads the kept file");
      }
    }
  }

  @Test
  void aStalledClient_slowsNeitherTheRebuildNorAnother() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(2_000_000, 8);
      ScriptedFill fill = new ScriptedFill();
      Client stalled = new Client();
      stalled.stallAfter(100_000);
      Future<Void> followedStalled = follow(relay(cache, "s", bytes.length, fileHash(bytes), fill), stalled);
      Client other = new Client();
      Future<Void> followedOther = follow(relay(cache, "s", bytes.length, fileHash(bytes), fill), other);
      fill.write(bytes);
      fill.end();
      followedOther.get(10, TimeUnit.SECONDS);
      assertArrayEquals(bytes, other.toByteArray());
      assertArrayEquals(bytes, cached(cache, "s", 0, bytes.length), "kept while the stalled client still waits");
      assertTrue(stalled.received() < bytes.length, "the stalled client has " + stalled.received());
      stalled.resume();
      followedStalled.get(10, TimeUnit.SECONDS);
      assertArrayEquals(bytes, stalled.toByteArray(), "it gets the rest when it reads again");
    }
  }

  @Test
  void aRebuildThatFails_failsEveryFollower_afterWhatWasWritten_andTheNextRequestRebuilds() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(500_000, 9);
      ScriptedFill fill = new ScriptedFill();
      Client one = new Client();
      Client two = new Client();
      Future<Void> followedOne = follow(relay(cache, "e", bytes.length, fileHash(bytes), fill), one);
      Future<Void> followedTwo = follow(relay(cache, "e", bytes.length, fileHash(bytes), fill), two);
      fill.write(Arrays.copyOf(bytes, 123_456));
      one.awaitAtLeast(123_456);
      two.awaitAtLeast(123_456);
      fill.fail();
      assertTrue(failure(followedOne).getMessage().contains("holders failed"));
      assertTrue(failure(followedTwo).getMessage().contains("holders failed"));
      assertArrayEquals(Arrays.copyOf(bytes, 123_456), one.toByteArray());
      assertEquals(List.of(), files(), "nothing kept, nothing left");
      assertArrayEquals(bytes, rebuild(cache, "e", bytes, fileHash(bytes)), "the next request rebuilds");
    }
  }

  @Test
  void aClientThatLeaves_doesNotStopTheRebuildOthersFollow() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(300_000, 10);
      ScriptedFill fill = new ScriptedFill();
      RebuildRelay.Follower first = relay(cache, "f", bytes.length, fileHash(bytes), fill);
      Client other = new Client();
      Future<Void> followedOther = follow(relay(cache, "f", bytes.length, fileHash(bytes), fill), other);
      first.close();
      fill.write(bytes);
      fill.end();
      followedOther.get(10, TimeUnit.SECONDS);
      assertArrayEquals(bytes, other.toByteArray());
      assertArrayEquals(bytes, cached(cache, "f", 0, bytes.length));
    }
  }

  @Test
  void whenTheLastClientLeaves_theRebuildStopsAtItsNextWrite_andNothingIsKept() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(300_000, 11);
      ScriptedFill fill = new ScriptedFill();
      RebuildRelay.Follower only = relay(cache, "g", bytes.length, fileHash(bytes), fill);
      fill.write(Arrays.copyOf(bytes, 1000));
      only.close();
      fill.write(Arrays.copyOfRange(bytes, 1000, bytes.length));
      IOException stopped = fill.ended.get(10, TimeUnit.SECONDS);
      assertTrue(stopped != null && stopped.getMessage().contains("nobody follows"), String.valueOf(stopped));
      try (RebuildRelay.Follower next = relay(cache, "g", bytes.length, fileHash(bytes), new ScriptedFill())) {
        assertEquals(RebuildRelay.Origin.STARTED, next.origin(), "a request after that starts a new rebuild");
      }
      assertNull(cached(cache, "g", 0, 1));
    }
  }

  @Test
  void aFollower_givesUpWhenTheRebuildStalls() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(200_000, 12);
      ScriptedFill fill = new ScriptedFill();
      try (RebuildRelay.Follower follower = relay(cache, "h", bytes.length, fileHash(bytes), fill)) {
        fill.write(Arrays.copyOf(bytes, 50_000));
        Client client = new Client();
        IOException stalled = assertThrows(IOException.class, () -> follower.copyTo(client, Duration.ofMillis(200)));
        assertTrue(stalled.getMessage().contains("wrote nothing"), stalled.getMessage());
        assertEquals(50_000, client.received());
      }
    }
  }

  @Test
  void aRebuildThatCannotCreateItsFile_saysSo_soThatTheRequestReadsElsewhere() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      // The cache's directory is gone, a file in its place (a disk failing under the gateway).
      Files.delete(dir);
      Files.writeString(dir, "not a directory");
      RebuildRelay.FileFailedException e = assertThrows(RebuildRelay.FileFailedException.class,
          () -> relay(cache, "j", 5000, fileHash(nar(5000, 14)), new ScriptedFill()));
      assertEquals(0, e.position());
    }
  }

  @Test
  void aNarLargerThanTheCache_isRelayed_butNotKept() throws Exception {
    try (RebuiltNarCache cache = open(1000)) {
      assertTrue(cache.fits(1000));
      assertFalse(cache.fits(1001));
      byte[] bytes = nar(5000, 13);
      assertArrayEquals(bytes, rebuild(cache, "i", bytes, fileHash(bytes)));
      assertNull(cached(cache, "i", 0, 1));
      assertEquals(List.of(), files(), "its file is gone with the rebuild");
    }
  }

  @Test
  void aNarForWhichTheRebuildsInFlightLeaveNoRoom_isNotRelayed_untilTheyEnd() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20, 8000)) {
      byte[] a = nar(5000, 15);
      byte[] b = nar(5000, 16);
      ScriptedFill fill = new ScriptedFill();
      Client client = new Client();
      Future<Void> followed = follow(relay(cache, "a", a.length, fileHash(a), fill), client);
      assertTrue(cache.follow("b", b.length, fileHash(b), new ScriptedFill()).isEmpty(), "5000 + 5000 > 8000");
      assertEquals(1, files().size(), "no file for b");
      fill.write(a);
      fill.end();
      followed.get(10, TimeUnit.SECONDS);
      assertArrayEquals(b, rebuild(cache, "b", b, fileHash(b)), "room again once a is rebuilt");
    }
  }

  @Test
  void aRebuildThatFillsItsFileOutOfOrder_publishesOnlyTheWrittenPrefix() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(900_000, 17);
      ScriptedFill fill = new ScriptedFill();
      Client client = new Client();
      Future<Void> followed = follow(relay(cache, "o", bytes.length, fileHash(bytes), fill), client);
      fill.writeAt(400_000, Arrays.copyOfRange(bytes, 400_000, bytes.length));
      fill.writeAt(0, Arrays.copyOf(bytes, 1000));
      client.awaitAtLeast(1000);
      assertEquals(1000, client.received(), "the bytes after the gap wait for it");
      fill.writeAt(1000, Arrays.copyOfRange(bytes, 1000, 400_000));
      fill.end();
      followed.get(10, TimeUnit.SECONDS);
      assertArrayEquals(bytes, client.toByteArray());
      assertArrayEquals(bytes, cached(cache, "o", 0, bytes.length), "verified whole and kept");
    }
  }

  @Test
  void aWriterInterruptedMidRebuild_failsAlone_andTheOtherWritesStillLand() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(300_000, 19);
      Client client = new Client();
      java.util.concurrent.atomic.AtomicReference<Throwable> interruptedWrite = new java.util.concurrent.atomic.AtomicReference<>();
      Future<Void> followed = follow(relay(cache, "i", bytes.length, fileHash(bytes), file -> {
        file.write(0, bytes, 0, 100_000);
        // A hedged read cancelled while it writes its piece: its thread is interrupted.
        Thread cancelled = Thread.ofVirtual().start(() -> {
          Thread.currentThread().interrupt();
          try {
            file.write(100_000, bytes, 100_000, 100_000);
          } catch (Throwable t) {
            interruptedWrite.set(t);
          }
        });
        try {
          cancelled.join();
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException();
        }
        file.write(100_000, bytes, 100_000, 200_000);
      }), client);
      followed.get(10, TimeUnit.SECONDS);
      assertTrue(interruptedWrite.get() instanceof java.nio.channels.ClosedByInterruptException,
          "the interrupted write failed: " + interruptedWrite.get());
      assertArrayEquals(bytes, client.toByteArray());
      assertArrayEquals(bytes, cached(cache, "i", 0, bytes.length), "verified whole and kept");
    }
  }

  @Test
  void aRebuildThatWritesAByteTwice_fails() throws Exception {
    try (RebuiltNarCache cache = open(10 << 20)) {
      byte[] bytes = nar(10_000, 18);
      ScriptedFill fill = new ScriptedFill();
      Future<Void> followed = follow(relay(cache, "t", bytes.length, fileHash(bytes), fill), new Client());
      fill.writeAt(5000, Arrays.copyOfRange(bytes, 5000, 6000));
      fill.writeAt(5500, Arrays.copyOfRange(bytes, 5500, 7000));
      assertTrue(failure(followed).getMessage().contains("twice"));
      assertNull(cached(cache, "t", 0, 1));
    }
  }

  /**
   * A rebuild the test writes step by step; {@link #ended} completes with how its
   * {@code fill} ended (null: normally).
   */
  private static final class ScriptedFill implements RebuildRelay.Fill {
    private static final Object END = new Object();
    private static final Object FAIL = new Object();
    private final BlockingQueue<Object> steps = new LinkedBlockingQueue<>();
    final CompletableFuture<IOException> ended = new CompletableFuture<>();
    volatile int runs;
    /** Where the next {@link #write} goes: after the last one. */
    private long next;

    /** Bytes at a place of the file. */
    private record At(long position, byte[] bytes) {}

    /** Writes bytes after the last written. */
    void write(byte[] bytes) {
      steps.add(new At(-1, bytes));
    }

    /** Writes bytes at {@code position}, wherever the last ones went. */
    void writeAt(long position, byte[] bytes) {
      steps.add(new At(position, bytes));
    }

    void end() {
      steps.add(END);
    }

    void fail() {
      steps.add(FAIL);
    }

    @Override
    public void fill(RangeFile file) throws IOException {
      runs++;
      try {
        while (true) {
          Object step = steps.poll(10, TimeUnit.SECONDS);
          if (step == null) {
            throw new IOException("the test gave the rebuild nothing to do");
          }
          if (step == END) {
            ended.complete(null);
            return;
          }
          if (step == FAIL) {
            throw new IOException("the holders failed");
          }
          At at = (At) step;
          long position = at.position() < 0 ? next : at.position();
          file.write(position, at.bytes(), 0, at.bytes().length);
          next = position + at.bytes().length;
        }
      } catch (IOException e) {
        ended.complete(e);
        throw e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
  }

  /** A client that records what it received, and can be told to stop reading (a stalled socket). */
  private static final class Client extends ByteArrayOutputStream {
    private long stallAfter = Long.MAX_VALUE;

    synchronized int received() {
      return size();
    }

    synchronized void stallAfter(long bytes) {
      stallAfter = bytes;
    }

    synchronized void resume() {
      stallAfter = Long.MAX_VALUE;
      notifyAll();
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      while (size() >= stallAfter) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException(e);
        }
      }
      super.write(b, off, len);
      notifyAll();
    }

    synchronized void awaitAtLeast(int bytes) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (size() < bytes) {
        long left = deadline - System.nanoTime();
        assertTrue(left > 0, "the client got " + size() + " of " + bytes + " bytes");
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
  }
}
