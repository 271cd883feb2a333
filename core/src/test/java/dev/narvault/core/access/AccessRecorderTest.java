package dev.narvault.core.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.Catalog;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gateway's record of what it serves: batched, bounded, and never waiting on the catalog. */
class AccessRecorderTest {
  static final String A = "0c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";
  static final String B = "1c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";
  static final String C = "2c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";

  @TempDir
  Path dir;

  private final AtomicLong now = new AtomicLong(Instant.parse("2024-05-01T10:00:00Z").toEpochMilli());
  private final InstantSource clock = () -> Instant.ofEpochMilli(now.get());

  @Test
  void record_countsInMemory_andFlushWritesOneBatch() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      AccessRecorder recorder = AccessRecorder.manual(c.access(), clock, 100);
      recorder.record(A);
      now.addAndGet(1000);
      recorder.record(A);
      recorder.record(B);
      assertEquals(Optional.empty(), c.access().get(A), "nothing written before the flush");
      recorder.flush();
      assertEquals(Optional.of(new AccessRecords.Record(A, now.get(), 2)), c.access().get(A));
      assertEquals(3, recorder.written());
      recorder.flush();
      assertEquals(2, c.access().get(A).orElseThrow().requests(), "a flush with nothing new writes nothing");
    }
  }

  @Test
  void pastItsBound_requestsAreDroppedAndCounted() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      AccessRecorder recorder = AccessRecorder.manual(c.access(), clock, 2);
      recorder.record(A);
      recorder.record(B);
      recorder.record(C);
      assertEquals(1, recorder.dropped());
      recorder.close();
      assertTrue(c.access().get(B).isPresent(), "close flushes");
      assertFalse(c.access().get(C).isPresent());
    }
  }

  @Test
  void aCatalogThatFails_keepsTheBatchForTheNextFlush() throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("c.db");
    try (Catalog c = Catalog.open(url)) {
      AccessRecorder recorder = AccessRecorder.manual(c.access(), clock, 100);
      try (Connection raw = DriverManager.getConnection(url); Statement s = raw.createStatement()) {
        s.execute("ALTER TABLE access_records RENAME TO access_records_away");
        recorder.record(A);
        recorder.flush();
        assertEquals(1, recorder.failures());
        recorder.record(A);
        s.execute("ALTER TABLE access_records_away RENAME TO access_records");
      }
      recorder.flush();
      assertEquals(2, c.access().get(A).orElseThrow().requests(), "kept, then written once");
      assertEquals(0, recorder.dropped());
    }
  }

  @Test
  void aCatalogThatHangs_neverBlocksRecord() throws Exception {
    String url = "jdbc:sqlite:" + dir.resolve("c.db");
    try (Catalog c = Catalog.open(url)) {
      AccessRecorder recorder = AccessRecorder.manual(c.access(), clock, 100);
      recorder.record(A);
      CompletableFuture<Void> flushing;
      try (Connection raw = DriverManager.getConnection(url); Statement s = raw.createStatement()) {
        raw.setAutoCommit(false);
        s.execute("INSERT INTO access_imports VALUES ('lock', 'x', 0, 0, 0, 0)");
        // The catalog's writer now waits for this transaction (SQLite's busy timeout).
        flushing = CompletableFuture.runAsync(recorder::flush);
        Thread.sleep(300);
        assertFalse(flushing.isDone(), "the flush waits on the catalog");
        long start = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
          recorder.record(B);
        }
        assertTrue(System.nanoTime() - start < TimeUnit.MILLISECONDS.toNanos(200), "record does not wait");
        raw.rollback();
      }
      flushing.get(30, TimeUnit.SECONDS);
      recorder.flush();
      assertEquals(1, c.access().get(A).orElseThrow().requests());
      assertEquals(1000, c.access().get(B).orElseThrow().requests());
    }
  }

  @Test
  void start_flushesOnItsOwn() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"));
        AccessRecorder recorder = AccessRecorder.start(c.access(), clock, 100, java.time.Duration.ofMillis(20))) {
      recorder.record(A);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (c.access().get(A).isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertTrue(c.access().get(A).isPresent());
    }
  }
}
