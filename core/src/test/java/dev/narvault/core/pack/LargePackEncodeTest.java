package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Encoding streams: a 1 GiB pack is encoded by a child JVM whose heap is 48 MiB, far less than
 * the pack. The pack is generated on the fly and the fragments are only hashed, so the test needs
 * neither 1 GiB of memory nor of disk.
 */
class LargePackEncodeTest {
  static final long PACK_LENGTH = 1L << 30;

  /** Entry point of the child JVM: encodes, prints the first fragment id and fragment size. */
  public static void main(String[] args) throws IOException {
    PackLayout layout = PackLayout.of(10, 4, PACK_LENGTH, PackLayout.DEFAULT_BLOCK_SIZE);
    PackSource generated = (offset, dst, off, len) -> {
      for (int i = 0; i < len; i++) {
        long p = offset + i;
        dst[off + i] = (byte) (p * 0x9E3779B97F4A7C15L >>> 56);
      }
    };
    List<OutputStream> sinks = new ArrayList<>();
    for (int i = 0; i < layout.totalFragmentCount(); i++) {
      sinks.add(OutputStream.nullOutputStream());
    }
    List<FragmentDigest> digests = new PackEncoder(new BackblazeCodec(10, 4)).encode(generated, layout, sinks);
    System.out.println("fragments=" + digests.size() + " length=" + digests.getFirst().length());
  }

  @Test
  void encode_1GiBPackIn48MiBHeap() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-Xmx48m", "-cp", System.getProperty("java.class.path"),
        LargePackEncodeTest.class.getName()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), "child JVM did not finish");
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("fragments=14 length=" + Math.ceilDiv(PACK_LENGTH, 10)), out);
  }
}
