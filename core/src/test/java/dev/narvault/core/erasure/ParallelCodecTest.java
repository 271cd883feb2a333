package dev.narvault.core.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class ParallelCodecTest {
  @Test
  void encodeAndReconstruct_splitAcrossThreadsGiveTheSameBytes() throws Exception {
    Set<String> threads = ConcurrentHashMap.newKeySet();
    try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
      Executor recording = task -> pool.execute(() -> {
        threads.add(Thread.currentThread().getName());
        task.run();
      });
      Codec parallel = new ParallelCodec(new VectorCodec(10, 4), recording, 4, 1024);
      Random random = new Random(5);
      int length = 100_003;
      byte[][] expected = new byte[14][length];
      for (int i = 0; i < 10; i++) {
        random.nextBytes(expected[i]);
      }
      byte[][] actual = new byte[14][];
      for (int i = 0; i < 14; i++) {
        actual[i] = expected[i].clone();
      }
      new BackblazeCodec(10, 4).encodeParity(expected, 0, length);
      parallel.encodeParity(actual, 0, length);
      for (int i = 0; i < 14; i++) {
        assertArrayEquals(expected[i], actual[i]);
      }
      assertTrue(threads.size() >= 1, "work was handed to the pool");
      boolean[] present = new boolean[14];
      Arrays.fill(present, true);
      present[0] = present[3] = present[12] = false;
      actual[0] = new byte[length];
      actual[3] = new byte[length];
      actual[12] = new byte[length];
      parallel.reconstruct(actual, present, 0, length);
      for (int i = 0; i < 14; i++) {
        assertArrayEquals(expected[i], actual[i]);
      }
      Arrays.fill(present, 0, 5, false);
      assertThrows(NotEnoughFragmentsException.class, () -> parallel.reconstruct(actual, present, 0, length));
    }
  }
}
