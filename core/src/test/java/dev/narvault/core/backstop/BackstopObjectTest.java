package dev.narvault.core.backstop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The backstop object's layout, and data fragments read out of it with ranges. */
class BackstopObjectTest {
  @Test
  void tail_isTheManifestThenItsLengthAndTheMagic_andParsesBack() {
    byte[] manifest = "{\"manifest\":{}}".getBytes(StandardCharsets.UTF_8);
    byte[] tail = BackstopObject.tail(manifest);
    assertEquals(manifest.length + 16, tail.length);
    assertArrayEquals(manifest, Arrays.copyOf(tail, manifest.length));
    assertArrayEquals("NVBKSTP1".getBytes(StandardCharsets.US_ASCII), Arrays.copyOfRange(tail, tail.length - 8, tail.length));
    assertEquals(manifest.length, BackstopObject.manifestLength(Arrays.copyOfRange(tail, manifest.length, tail.length)));
    assertEquals(1000 + manifest.length + 16, BackstopObject.length(1000, manifest.length));
    assertEquals("packs/" + "cd".repeat(32), BackstopObject.key(new PackId("cd".repeat(32))));
  }

  @Test
  void manifestLength_ofAnything_parsesOrThrowsIllegalArgument() {
    long seed = new SecureRandom().nextLong();
    System.out.println("backstop trailer fuzz seed: " + seed);
    Random random = new Random(seed);
    for (int i = 0; i < 10_000; i++) {
      byte[] trailer = new byte[random.nextInt(4) == 0 ? random.nextInt(32) : 16];
      random.nextBytes(trailer);
      if (random.nextBoolean() && trailer.length == 16) {
        System.arraycopy(BackstopObject.MAGIC, 0, trailer, 8, 8);
      }
      try {
        long length = BackstopObject.manifestLength(trailer);
        assertEquals(true, length >= 1, "seed " + seed);
      } catch (IllegalArgumentException expected) {
        // the only other outcome
      }
    }
  }

  @Test
  void dataFragments_areRangesOfThePack_zeroPaddedPastItsEnd_andParityIsNotThere() throws Exception {
    byte[] pack = new byte[10_001];
    new Random(5).nextBytes(pack);
    PackLayout layout = PackLayout.of(4, 2, pack.length, 512);
    byte[] object = new byte[pack.length + 40];
    System.arraycopy(pack, 0, object, 0, pack.length);
    Arrays.fill(object, pack.length, object.length, (byte) 0x55); // manifest and trailer: never fragment bytes
    Backstops.Backstop backstop = new Backstops.Backstop(new PackId("ef".repeat(32)), "b", "packs/x", object.length,
        Optional.empty());
    BackstopFragments fragments = new BackstopFragments(new OneObject(object), backstop, layout);
    long f = layout.fragmentSize();
    for (int i = 0; i < 4; i++) {
      byte[] expected = new byte[(int) f];
      int from = (int) (i * f);
      System.arraycopy(pack, from, expected, 0, (int) Math.max(0, Math.min(f, pack.length - from)));
      assertArrayEquals(expected, fragments.read(i, 0, (int) f), "fragment " + i);
      assertArrayEquals(Arrays.copyOfRange(expected, 100, 700), fragments.read(i, 100, 600), "range of fragment " + i);
    }
    assertThrows(IOException.class, () -> fragments.read(4, 0, 10));
    assertThrows(IllegalArgumentException.class, () -> fragments.read(0, f - 1, 2));
  }

  /** One object in a bucket, ranges honoured as S3 does. */
  private record OneObject(byte[] bytes) implements ObjectSource {
    @Override
    public String bucket() {
      return "backstop";
    }

    @Override
    public OpenedObject openObject(String key, Optional<String> range) {
      String[] r = range.orElseThrow().substring("bytes=".length()).split("-");
      int from = Integer.parseInt(r[0]);
      int to = Math.min(bytes.length - 1, Integer.parseInt(r[1]));
      return new OpenedObject(new ByteArrayInputStream(bytes, from, to - from + 1), to - from + 1, Optional.empty(),
          Optional.empty(), Optional.of("bytes " + from + "-" + to + "/" + bytes.length));
    }

    @Override
    public void list(String prefix, Consumer<StoredObject> each) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void listTopLevel(String startAfter, Predicate<StoredObject> each) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String location() {
      return "test://b";
    }

    @Override
    public StoredObject stat(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void put(String key, byte[] b, String contentType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void put(String key, Path file, String contentType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void delete(String key) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void copyTo(String key, String bucket, Optional<String> storageClass) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {}
  }
}
