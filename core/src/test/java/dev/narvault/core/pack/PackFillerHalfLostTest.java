package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.erasure.Codec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gateway's worst case for small NARs (issue 25): RS(40,40) with the 40 holders of the data
 * fragments down, so every byte is decoded from the 40 parity fragments, several NARs read at once
 * under a decode budget smaller than one decode step (41 pieces). Each read must end, with every
 * byte the pack's, at no more than k holder bytes per block: no step waits for memory it can
 * never get, and nothing is asked twice.
 */
class PackFillerHalfLostTest {
  private static final int BLOCK = 128;
  private static final int K = 40;
  private final Codec codec = new BackblazeCodec(K, K);
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  /** Parity fragments from memory; every data fragment's holder down, and known to be. */
  private static final class ParityOnly implements FragmentReader {
    private final PackFixtures.Encoded pack;
    final AtomicInteger dataAsked = new AtomicInteger();

    ParityOnly(PackFixtures.Encoded pack) {
      this.pack = pack;
    }

    @Override
    public byte[] read(int index, long offset, int length) throws IOException {
      if (index < K) {
        dataAsked.incrementAndGet();
        throw new IOException("holder of data fragment " + index + " is down");
      }
      return java.util.Arrays.copyOfRange(pack.fragments()[index], (int) offset, (int) offset + length);
    }

    @Override
    public boolean likelyAvailable(int index) {
      return index >= K;
    }
  }

  @Test
  @Timeout(60)
  void fill_everyDataFragmentDown_eightAtOnce_underADecodeBudgetSmallerThanOneStep_endsAtKBytesPerBlock()
      throws Exception {
    // As in the bench: NARs from a quarter of a fragment to about one, each within 1 or 2 fragments.
    Random random = new Random(25);
    int[] sizes = new int[48];
    for (int i = 0; i < sizes.length; i++) {
      sizes[i] = 1200 + random.nextInt(3 * 1200);
    }
    PackFixtures.Encoded pack = PackFixtures.encode(codec, sizes, BLOCK, 25);
    ParityOnly holders = new ParityOnly(pack);
    // A decode step of one piece (16 blocks) needs k + 1 pieces, 82 KiB; the budgets are 4 KiB.
    ReadBudget pieces = new ReadBudget(4 * 1024);
    ReadBudget decoding = new ReadBudget(4 * 1024);
    PackFiller.Options options = PackFiller.Options.of(executor).withBudgets(pieces, decoding);
    ConcurrentLinkedQueue<Manifest.Nar> todo = new ConcurrentLinkedQueue<>(pack.manifest().nars());
    List<Future<?>> readers = new ArrayList<>();
    for (int r = 0; r < 8; r++) {
      readers.add(executor.submit(() -> {
        Manifest.Nar nar;
        while ((nar = todo.poll()) != null) {
          PackFillerTest.CheckedFile file = new PackFillerTest.CheckedFile(pack, nar.offset(), (int) nar.length());
          PackFiller filler = new PackFiller(pack.manifest(), codec, holders, options);
          filler.fill(nar.offset(), nar.length(), file);
          assertTrue(file.whole(), nar.key());
          BitSet spanned = new BitSet();
          for (FragmentRange f : ReadPlanner.plan(pack.layout(), nar.offset(), nar.length())) {
            spanned.set(f.fragmentIndex());
          }
          assertEquals(spanned, filler.failedFragments(), "read around");
          // Each block the NAR lies in decoded once from k parity blocks, or with another
          // fragment's blocks of the same stripe: never k holder bytes per block more than once.
          long most = K * blockBytes(pack.layout(), nar);
          assertTrue(filler.bytesFromHolders() <= most, nar.key() + ": " + filler.bytesFromHolders() + " > " + most);
        }
        return null;
      }));
    }
    for (Future<?> reader : readers) {
      reader.get();
    }
    assertEquals(0, holders.dataAsked.get(), "a holder known down is not asked while k others answer");
  }

  /** Bytes of the whole blocks a NAR's range lies in, over all the fragments it spans. */
  private static long blockBytes(PackLayout layout, Manifest.Nar nar) {
    long bytes = 0;
    for (FragmentRange f : ReadPlanner.plan(layout, nar.offset(), nar.length())) {
      for (int b = ReadPlanner.firstBlock(layout, f); b < ReadPlanner.endBlock(layout, f); b++) {
        bytes += layout.blockLength(b);
      }
    }
    return bytes;
  }
}
