package dev.narvault.core.sorted;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SortedRecordFileTest {
  @TempDir
  Path dir;

  private static byte[] record(long key, long value) {
    return ByteBuffer.allocate(16).putLong(key).putLong(value).array();
  }

  private static byte[] key(long key) {
    return ByteBuffer.allocate(8).putLong(key).array();
  }

  @Test
  void finish_manyBatchesInSeveralMergePasses_findsEveryKeyOnce_firstValueWins() throws Exception {
    long seed = new SecureRandom().nextLong();
    System.out.println("SortedRecordFileTest seed: " + seed);
    Random random = new Random(seed);
    // The smallest batch is 1024 records: 300 000 records make ~290 batch files, more than one
    // merge pass takes (MERGE_WIDTH), so an intermediate pass runs too.
    Map<Long, Long> first = new HashMap<>();
    SortedRecordFile file;
    try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 8, 16, 1)) {
      for (int i = 0; i < 300_000; i++) {
        // Keys of both signs (compared unsigned), some repeated with another value.
        long k = random.nextInt(5) == 0 && !first.isEmpty() ? random.nextLong(200_000) : random.nextLong();
        first.putIfAbsent(k, (long) i);
        b.add(record(k, i));
      }
      file = b.finish();
    }
    try (file) {
      assertEquals(first.size(), file.count());
      for (Map.Entry<Long, Long> e : first.entrySet()) {
        assertArrayEquals(record(e.getKey(), e.getValue()), file.find(key(e.getKey())).orElseThrow(),
            "key " + e.getKey());
      }
      for (int i = 0; i < 10_000; i++) {
        long absent = random.nextLong();
        assertEquals(first.containsKey(absent), file.contains(key(absent)));
      }
      try (Stream<Path> left = Files.list(dir)) {
        assertEquals(1, left.count(), "only the sorted file is left, no batch files");
      }
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(0, left.count(), "closing deletes it");
    }
  }

  @Test
  void lookupsInKeyOrder_andInAnyOrder_agree() throws Exception {
    List<Long> keys = new ArrayList<>();
    try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 8, 8, 1 << 20)) {
      for (long k = 0; k < 50_000; k += 2) {
        keys.add(k);
        b.add(key(k));
      }
      try (SortedRecordFile file = b.finish()) {
        for (long k = -3; k < 50_003; k++) {
          assertEquals(k >= 0 && k < 50_000 && k % 2 == 0, file.contains(key(k)), "in order: " + k);
        }
        Collections.shuffle(keys, new Random(1));
        for (long k : keys) {
          assertTrue(file.contains(key(k)), "shuffled: " + k);
          assertFalse(file.contains(key(k + 1)), "shuffled: " + (k + 1));
        }
      }
    }
  }

  @Test
  void records_giveEveryKeyOnceInUnsignedOrder_toSeveralReadersAtOnce() throws Exception {
    Random random = new Random(3);
    Map<Long, Long> first = new HashMap<>();
    try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 8, 16, 1)) {
      for (int i = 0; i < 20_000; i++) {
        long k = random.nextInt(4) == 0 ? random.nextLong(1_000) : random.nextLong();
        first.putIfAbsent(k, (long) i);
        b.add(record(k, i));
      }
      try (SortedRecordFile file = b.finish();
          SortedRecordFile.Records one = file.records();
          SortedRecordFile.Records two = file.records()) {
        List<Long> keys = new ArrayList<>(first.keySet());
        keys.sort(Long::compareUnsigned);
        byte[] a = new byte[16];
        byte[] c = new byte[16];
        for (long k : keys) {
          assertTrue(one.next(a));
          assertTrue(two.next(c));
          assertArrayEquals(record(k, first.get(k)), a, "key " + k);
          assertArrayEquals(a, c);
        }
        assertFalse(one.next(a), "nothing after the last");
        assertThrows(IllegalArgumentException.class, () -> two.next(new byte[8]));
      }
    }
  }

  @Test
  void digest_isOfTheSet_notTheOrderAdded() throws Exception {
    List<Long> keys = new ArrayList<>();
    for (long k = 0; k < 5_000; k++) {
      keys.add(k * 7919);
    }
    String[] digests = new String[3];
    for (int round = 0; round < 3; round++) {
      Collections.shuffle(keys, new Random(round));
      try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 8, 8, 4096)) {
        for (long k : round == 2 ? keys.subList(1, keys.size()) : keys) {
          b.add(key(k));
        }
        b.add(key(keys.get(3)));
        try (SortedRecordFile file = b.finish()) {
          digests[round] = file.digest();
        }
      }
    }
    assertEquals(digests[0], digests[1], "same set, other order, a repeat");
    assertNotEquals(digests[0], digests[2], "one key fewer");
  }

  @Test
  void empty_findsNothing() throws Exception {
    try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 4, 4, 1024);
        SortedRecordFile file = b.finish()) {
      assertEquals(0, file.count());
      assertFalse(file.contains(new byte[4]));
    }
  }

  @Test
  void wrongWidths_areRefused() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> SortedRecordFile.builder(dir, 0, 4, 1024));
    assertThrows(IllegalArgumentException.class, () -> SortedRecordFile.builder(dir, 8, 4, 1024));
    try (SortedRecordFile.Builder b = SortedRecordFile.builder(dir, 4, 8, 1024)) {
      assertThrows(IllegalArgumentException.class, () -> b.add(new byte[7]));
      b.add(new byte[8]);
      try (SortedRecordFile file = b.finish()) {
        assertThrows(IllegalArgumentException.class, () -> file.find(new byte[8]));
      }
    }
  }
}
