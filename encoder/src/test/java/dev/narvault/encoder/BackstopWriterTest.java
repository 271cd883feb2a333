package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.backstop.BackstopObject;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.StoredObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backstop counts only when its bytes are the pack the manifest describes and the store has all
 * of them: the spool is checked block by block on the way, the store's Content-MD5 check is relied
 * on (an SSE-KMS ETag is not an MD5), and before a delete the object must still be there, whole.
 */
class BackstopWriterTest {
  @TempDir
  Path dir;

  private final DrainerTest.FakeClock clock = new DrainerTest.FakeClock(1_000_000);
  private final Bucket bucket = new Bucket();
  private Catalog catalog;
  private byte[] pack;
  private PackId packId;
  private byte[] signed;
  private Path spool;
  private BackstopWriter writer;

  /** A bucket in memory that checks Content-MD5 on PUT as S3 does; its ETags are whatever a test says. */
  static final class Bucket implements ObjectSource {
    final Map<String, byte[]> objects = new TreeMap<>();
    Function<byte[], String> etag = bytes -> HexFormat.of().formatHex(md5(bytes));

    @Override
    public String bucket() {
      return "backstops";
    }

    static byte[] md5(byte[] bytes) {
      try {
        return MessageDigest.getInstance("MD5").digest(bytes);
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void putChecked(String key, Body body, long length, byte[] md5, Optional<String> storageClass)
        throws IOException {
      byte[] bytes;
      try (InputStream in = body.open()) {
        bytes = in.readAllBytes();
      }
      if (bytes.length != length || !Arrays.equals(md5(bytes), md5)) {
        throw new IOException("BadDigest: the Content-MD5 you specified did not match what was received");
      }
      objects.put(key, bytes);
    }

    @Override
    public StoredObject stat(String key) throws ObjectNotFoundException {
      byte[] bytes = objects.get(key);
      if (bytes == null) {
        throw new ObjectNotFoundException(key);
      }
      return new StoredObject(key, bytes.length, Instant.EPOCH, Optional.of(etag.apply(bytes)));
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
      return "memory://backstop";
    }

    @Override
    public OpenedObject openObject(String key, Optional<String> range) {
      throw new UnsupportedOperationException("the writer never reads the bucket");
    }

    @Override
    public void put(String key, byte[] bytes, String contentType) {
      objects.put(key, bytes);
    }

    @Override
    public void put(String key, Path file, String contentType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void delete(String key) {
      objects.remove(key);
    }

    @Override
    public void copyTo(String key, String toBucket, Optional<String> storageClass) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void close() {}
  }

  @BeforeEach
  void setUp() throws Exception {
    catalog = Catalog.open("jdbc:sqlite:" + dir.resolve("catalog.db"));
    // 2703 bytes in 4 fragments of 676 (the last padded with one zero), blocks of 512 and 164.
    SmallPack small = SmallPack.of(7, 4, 2, (key, object) -> { });
    pack = small.bytes();
    Manifest manifest = small.manifest();
    packId = ManifestCodec.packId(manifest);
    signed = ManifestCodec.toBytes(ManifestCodec.sign(manifest, NixSecretKey.generate("archive-1", new SecureRandom())));
    spool = dir.resolve("spool");
    Files.write(spool, pack);
    writer = new BackstopWriter(catalog, bucket, "backstop", Optional.empty(),
        new Archive(catalog, new HolderClient(Duration.ofSeconds(1)), Optional.empty()), dir.resolve("work"), clock);
  }

  @AfterEach
  void tearDown() {
    catalog.close();
  }

  @Test
  void place_recordsTheBackstop_whenTheETagIsNotTheMd5_asUnderSseKms() throws Exception {
    bucket.etag = bytes -> "0123456789abcdef0123456789abcdef";
    writer.place(packId, spool, pack.length, signed);
    assertTrue(writer.has(packId), "the store checked the Content-MD5; the ETag says nothing here");
    byte[] object = bucket.objects.get(BackstopObject.key(packId));
    assertArrayEquals(pack, Arrays.copyOf(object, pack.length));
  }

  @Test
  void place_refusesASpoolWhoseBytesDoNotMatchTheManifest_inAnyBlock() throws Exception {
    // The first byte, one inside a fragment's short last block, and the pack's last byte.
    for (int at : new int[] {0, 600, pack.length - 1}) {
      byte[] rotten = pack.clone();
      rotten[at] ^= 0x01;
      Files.write(spool, rotten);
      IOException refused = assertThrows(IOException.class, () -> writer.place(packId, spool, pack.length, signed),
          "byte " + at);
      assertTrue(refused.getMessage().contains("does not match its manifest"), refused.getMessage());
      assertEquals(Map.of(), bucket.objects, "nothing uploaded");
      assertFalse(writer.has(packId), "nothing recorded");
    }
  }

  @Test
  void place_refusesAManifestThatIsNotThePacks() throws Exception {
    assertThrows(IOException.class, () -> writer.place(packId, spool, pack.length - 1, signed));
    assertEquals(Map.of(), bucket.objects);
  }

  @Test
  void confirm_passesAWholeBackstop_andRefusesOneGoneOrCut() throws Exception {
    writer.place(packId, spool, pack.length, signed);
    assertDoesNotThrow(() -> writer.confirm(packId));
    String key = BackstopObject.key(packId);
    byte[] whole = bucket.objects.get(key);

    bucket.objects.put(key, Arrays.copyOf(whole, whole.length - 1));
    IOException cut = assertThrows(IOException.class, () -> writer.confirm(packId));
    assertTrue(cut.getMessage().contains("nothing of the pack is deleted"), cut.getMessage());

    bucket.objects.remove(key);
    clock.advance(BackstopWriter.RETRY_AFTER_MILLIS);
    IOException gone = assertThrows(IOException.class, () -> writer.confirm(packId));
    assertTrue(gone.getMessage().contains("is gone"), gone.getMessage());
  }

  @Test
  void backstopConfig_refusesStorageClassesThatNeedARestore() {
    for (String storageClass : List.of("GLACIER", "DEEP_ARCHIVE", "deep_archive")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new MigrateConfig.Backstop("b", Optional.of(storageClass)));
      assertTrue(e.getMessage().contains("cannot be read without a restore"), e.getMessage());
    }
    for (String storageClass : List.of("GLACIER_IR", "STANDARD_IA", "STANDARD")) {
      assertEquals(Optional.of(storageClass), new MigrateConfig.Backstop("b", Optional.of(storageClass)).storageClass());
    }
  }
}
