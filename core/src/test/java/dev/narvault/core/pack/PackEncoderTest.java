package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.erasure.Codec;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackEncoderTest {
  private final Codec codec = new BackblazeCodec(4, 2);

  @Test
  void encode_dataFragmentsAreThePackCutContiguouslyAndZeroPadded() {
    PackFixtures.Encoded e = PackFixtures.encode(codec, new int[] {1000, 37, 5000, 1}, 256, 1);
    long f = e.layout().fragmentSize();
    assertEquals((e.pack().length + 3) / 4, f);
    byte[] joined = new byte[(int) (4 * f)];
    for (int i = 0; i < 4; i++) {
      assertEquals(f, e.fragments()[i].length);
      System.arraycopy(e.fragments()[i], 0, joined, (int) (i * f), (int) f);
    }
    assertArrayEquals(e.pack(), Arrays.copyOf(joined, e.pack().length));
    for (int b = e.pack().length; b < joined.length; b++) {
      assertEquals(0, joined[b], "padding byte " + b);
    }
  }

  @Test
  void encode_parityEqualsTheCodecOverWholeFragments() {
    PackFixtures.Encoded e = PackFixtures.encode(codec, new int[] {3000, 3333}, 128, 2);
    byte[][] expected = new byte[6][];
    for (int i = 0; i < 4; i++) {
      expected[i] = e.fragments()[i].clone();
    }
    for (int i = 4; i < 6; i++) {
      expected[i] = new byte[(int) e.layout().fragmentSize()];
    }
    codec.encodeParity(expected, 0, expected[0].length);
    assertArrayEquals(expected[4], e.fragments()[4]);
    assertArrayEquals(expected[5], e.fragments()[5]);
  }

  @Test
  void encode_fragmentIdsAreRecomputableFromTheBytesAlone() {
    PackFixtures.Encoded e = PackFixtures.encode(codec, new int[] {4097}, 100, 3);
    for (Manifest.Fragment fragment : e.manifest().fragments()) {
      FragmentHasher hasher = new FragmentHasher(100);
      byte[] bytes = e.fragments()[fragment.index()];
      // Feed in odd pieces: the digest must not depend on how the bytes arrive.
      for (int at = 0; at < bytes.length; at += 7) {
        hasher.update(bytes, at, Math.min(7, bytes.length - at));
      }
      assertEquals(fragment.id(), hasher.finish().id());
    }
  }

  @Test
  void encode_resultDoesNotDependOnStripeSize() throws Exception {
    PackFixtures.Encoded e = PackFixtures.encode(codec, new int[] {10_000, 20_000}, 512, 4);
    for (int stripe : new int[] {1, 512, 1000, 4096, 1 << 20}) {
      List<ByteArrayOutputStream> outs = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        outs.add(new ByteArrayOutputStream());
      }
      List<FragmentDigest> digests = new PackEncoder(codec, stripe).encode(PackSource.of(e.pack()), e.layout(), outs);
      for (int i = 0; i < 6; i++) {
        assertArrayEquals(e.fragments()[i], outs.get(i).toByteArray(), "stripe " + stripe + " fragment " + i);
        assertEquals(e.manifest().fragments().get(i).id(), digests.get(i).id());
      }
    }
  }

  @Test
  void encode_rejectsMismatchedCodecOrOutputs() {
    PackLayout layout = PackLayout.of(3, 2, 100, 64);
    PackEncoder encoder = new PackEncoder(codec);
    assertThrows(IllegalArgumentException.class, () -> encoder.encode(PackSource.of(new byte[100]), layout, List.of()));
  }

  @Test
  void layout_rejectsNonsenseWithTheValue() {
    assertThrows(IllegalArgumentException.class, () -> PackLayout.of(4, 2, 0, 64));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PackLayout(4, 2, 100, 24, 64));
    assertEquals(true, e.getMessage().contains("25"));
  }

  @Test
  void grouping_fillsPacksInOrderAndGivesBigObjectsTheirOwn() {
    List<List<Long>> packs = PackGrouping.group(List.of(10L, 20L, 30L, 100L, 5L, 50L, 50L), Long::longValue, 60);
    assertEquals(List.of(List.of(10L, 20L, 30L), List.of(100L), List.of(5L, 50L), List.of(50L)), packs);
  }
}
