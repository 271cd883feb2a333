package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Repair streams: four lost fragments of a 1 GiB RS(10,4) pack are rebuilt from the other ten by
 * a child JVM whose heap is 256 MiB. The pack's bytes are generated on the fly (parity computed
 * for just the range read), and the rebuilt fragments are only hashed: no 1 GiB of memory or disk.
 */
class LargePackRebuildTest {
  static final long PACK_LENGTH = 1L << 30;

  private static void generate(long offset, byte[] dst, int off, int len) {
    for (int i = 0; i < len; i++) {
      long p = offset + i;
      dst[off + i] = p < PACK_LENGTH ? (byte) (p * 0x9E3779B97F4A7C15L >>> 56) : 0;
    }
  }

  /** Child JVM: encode (hashes only), then rebuild fragments 0-3, print whether their ids match. */
  public static void main(String[] args) throws IOException {
    PackLayout layout = PackLayout.of(10, 4, PACK_LENGTH, PackLayout.DEFAULT_BLOCK_SIZE);
    BackblazeCodec codec = new BackblazeCodec(10, 4);
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < 14; i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(codec).encode(LargePackRebuildTest::generate, layout, sinks);
    Sha256Hash h = Sha256Hash.of(new byte[0]);
    NarInfo info = NarInfo.create(StorePath.makeSourcePath("big", h, List.of()), "nar/big.nar", "none", h,
        PACK_LENGTH, h, PACK_LENGTH, List.of());
    Manifest manifest = Manifest.of(layout, digests,
        List.of(new Manifest.Nar("nar/big.nar", 0, PACK_LENGTH, h.toNixString(), info.text())));
    FragmentReader sources = (index, offset, length) -> {
      byte[] out = new byte[length];
      if (index < 10) {
        generate(index * layout.fragmentSize() + offset, out, 0, length);
        return out;
      }
      byte[][] stripe = new byte[14][length];
      for (int i = 0; i < 10; i++) {
        generate(i * layout.fragmentSize() + offset, stripe[i], 0, length);
      }
      codec.encodeParity(stripe, 0, length);
      return stripe[index];
    };
    List<FragmentHasher> hashers = new ArrayList<>();
    List<OutputStream> outs = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      FragmentHasher hasher = new FragmentHasher(layout.blockSize());
      hashers.add(hasher);
      outs.add(new OutputStream() {
        @Override
        public void write(int b) {
          hasher.update(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
          hasher.update(b, off, len);
        }
      });
    }
    BitSet usable = new BitSet();
    usable.set(4, 14);
    try (ExecutorService reads = Executors.newFixedThreadPool(4)) {
      new FragmentRebuilder(manifest, codec, sources, reads, 1 << 20).rebuild(List.of(0, 1, 2, 3), usable, outs);
    }
    int matching = 0;
    for (int i = 0; i < 4; i++) {
      if (hashers.get(i).finish().id().equals(manifest.fragments().get(i).id())) {
        matching++;
      }
    }
    System.out.println("rebuilt=4 matching=" + matching + " heap=" + Runtime.getRuntime().maxMemory());
  }

  @Test
  void rebuild_fourFragmentsOf1GiBPackIn256MiBHeap() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
        LargePackRebuildTest.class.getName()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "child JVM did not finish");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("rebuilt=4 matching=4"), out);
  }
}
