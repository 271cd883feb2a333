package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.backstop.BackstopObject;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.StoredObject;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.InstantSource;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts packs' backstops into the backstop bucket ({@code migrate --backstop-bucket}): one object
 * per pack, {@code packs/<pack-id>}, laid out as {@link BackstopObject} says. An object counts
 * (is recorded in the catalog) only after every block of the pack in it matched the manifest's
 * hashes, the store accepted it with its {@code Content-MD5}, and a HEAD shows its full length.
 * Writing one again is
 * harmless (same key, same bytes), so a run killed anywhere redoes at most the pack it was at:
 * the drain asks {@link #ensure} before it reads a pack back, and a pack without a recorded
 * backstop gets one then, read from its holders (verified) since the spool is gone.
 */
final class BackstopWriter {
  private static final Logger LOG = LoggerFactory.getLogger(BackstopWriter.class);
  /** One PUT takes at most 5 GiB (S3's limit); larger packs would need a multipart upload. */
  static final long MAX_OBJECT_BYTES = 5L << 30;

  private final Catalog catalog;
  private final ObjectSource bucket;
  private final String bucketName;
  private final Optional<String> storageClass;
  private final Archive archive;
  private final Path workDir;
  private final InstantSource clock;
  /** A pack whose backstop failed is tried again after this long, not for each of its objects. */
  static final long RETRY_AFTER_MILLIS = 60_000;
  private static final int FAILURES_KEPT = 10_000;

  private record Failure(long atMillis, String message) {}

  /** Packs whose backstop failed lately; the sealing thread and the drain both use it. */
  private final java.util.Map<PackId, Failure> failures = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * @param bucket the backstop bucket, named {@code bucketName}
   * @param archive reads packs back from holders for {@link #ensure}
   * @param workDir where a pack read back waits while it is uploaded
   */
  BackstopWriter(Catalog catalog, ObjectSource bucket, String bucketName, Optional<String> storageClass,
      Archive archive, Path workDir, InstantSource clock) {
    this.catalog = catalog;
    this.bucket = bucket;
    this.bucketName = bucketName;
    this.storageClass = storageClass;
    this.archive = archive;
    this.workDir = workDir;
    this.clock = clock;
  }

  /** Whether {@code packId} has a backstop in this writer's bucket. */
  boolean has(PackId packId) throws IOException {
    return catalog.backstops().of(packId).filter(b -> b.bucket().equals(bucketName)).isPresent();
  }

  /**
   * Gives {@code packId} a backstop if it has none in this bucket yet, reading the pack back from
   * its holders (every block verified).
   */
  void ensure(PackId packId) throws IOException {
    if (has(packId)) {
      return;
    }
    placeFromHolders(packId);
  }

  /**
   * Checks, right before an object of {@code packId} leaves S3, that its recorded backstop is
   * still in the bucket at its full length: a lifecycle rule or a hand may have removed it since.
   * When it is not, it is placed again from the holders and this throws all the same, so that
   * nothing is deleted on this answer (the next drain run deletes, after checking again).
   */
  void confirm(PackId packId) throws IOException {
    Backstops.Backstop recorded = catalog.backstops().of(packId).filter(b -> b.bucket().equals(bucketName))
        .orElseThrow(() -> new IOException("pack " + packId + " has no backstop in s3://" + bucketName));
    String problem;
    try {
      long size = bucket.stat(recorded.key()).size();
      if (size == recorded.length()) {
        return;
      }
      problem = "is " + size + " bytes, placed with " + recorded.length();
    } catch (ObjectNotFoundException e) {
      problem = "is gone";
    }
    LOG.warn("pack {}: backstop {} {}; placing it again before anything of the pack is drained",
        packId.shortForm(), recorded.location(), problem);
    String again;
    try {
      placeFromHolders(packId);
      again = "placed again";
    } catch (IOException e) {
      again = "not placed again yet: " + e.getMessage();
    }
    throw new IOException("the backstop " + recorded.location() + " " + problem + " (" + again
        + "); nothing of the pack is deleted now");
  }

  /** Places {@code packId}'s backstop from its pack read back from the holders (every block verified). */
  private void placeFromHolders(PackId packId) throws IOException {
    Failure failed = failures.get(packId);
    if (failed != null && clock.millis() - failed.atMillis() < RETRY_AFTER_MILLIS) {
      // Every object of the pack asks: one try a minute, not one read-back of the pack per object.
      throw new IOException("its backstop could not be placed " + (clock.millis() - failed.atMillis()) / 1000
          + " s ago: " + failed.message());
    }
    String signed = catalog.signedManifest(packId)
        .orElseThrow(() -> new IOException("no pack " + packId + " in the catalog"));
    long packLength = catalog.custody().shape(packId)
        .orElseThrow(() -> new IOException("pack " + packId + " is retired (rewritten): it needs no backstop"))
        .packLength();
    Files.createDirectories(workDir);
    Path file = Files.createTempFile(workDir, "backstop-", ".pack");
    try {
      try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
        archive.readPack(packId, 0, packLength, out);
      } catch (IOException | RuntimeException e) {
        failed(packId, e);
        throw e;
      }
      place(packId, file, packLength, signed.getBytes(StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /**
   * Uploads the backstop of {@code packId} from {@code packFile} (its first {@code packLength}
   * bytes are the pack), checks it, and records it.
   */
  void place(PackId packId, Path packFile, long packLength, byte[] signedManifest) throws IOException {
    try {
      upload(packId, packFile, packLength, signedManifest);
      failures.remove(packId);
    } catch (IOException | RuntimeException e) {
      failed(packId, e);
      throw e;
    }
  }

  private void failed(PackId packId, Exception e) {
    if (failures.size() >= FAILURES_KEPT) {
      failures.values().removeIf(f -> clock.millis() - f.atMillis() >= RETRY_AFTER_MILLIS);
    }
    failures.put(packId, new Failure(clock.millis(), e.getMessage()));
  }

  private void upload(PackId packId, Path packFile, long packLength, byte[] signedManifest) throws IOException {
    byte[] tail = BackstopObject.tail(signedManifest);
    long length = packLength + tail.length;
    if (length > MAX_OBJECT_BYTES) {
      throw new IOException("pack " + packId + " is too large for a backstop object in one PUT (" + length
          + " bytes, at most " + MAX_OBJECT_BYTES + "): use a smaller --pack-size");
    }
    ObjectSource.Body body = () -> new SequenceInputStream(
        new BoundedInput(Files.newInputStream(packFile), packLength), new ByteArrayInputStream(tail));
    MessageDigest md5 = digest("MD5");
    MessageDigest sha256 = digest("SHA-256");
    // The spool (or the read-back) is checked against the manifest's block hashes on the way: a
    // backstop is the copy of last resort, and a bad one would be found only when it is needed.
    Manifest manifest = ManifestCodec.parseSigned(signedManifest).manifest();
    if (!ManifestCodec.packId(manifest).equals(packId) || manifest.layout().packLength() != packLength) {
      throw new IOException("the manifest given for pack " + packId + " is not its own");
    }
    PackBlockCheck check = new PackBlockCheck(manifest);
    try (InputStream in = new DigestInputStream(new DigestInputStream(body.open(), md5), sha256)) {
      byte[] buffer = new byte[1 << 16];
      long n = 0;
      int r;
      while ((r = in.read(buffer)) >= 0) {
        if (n < packLength) {
          check.write(buffer, 0, (int) Math.min(r, packLength - n));
        }
        n += r;
      }
      if (n != length) {
        throw new IOException("pack file of " + packId + " gave " + n + " bytes, expected " + length);
      }
    }
    check.finish();
    byte[] md5Bytes = md5.digest();
    String key = BackstopObject.key(packId);
    // The store checks the Content-MD5 on arrival and refuses the PUT if the bytes differ; the
    // ETag is not compared (under SSE-KMS, or an encrypting MinIO, it is not the MD5 at all).
    bucket.putChecked(key, body, length, md5Bytes, storageClass);
    StoredObject stored = bucket.stat(key);
    if (stored.size() != length) {
      throw new IOException("backstop s3://" + bucketName + "/" + key + " is " + stored.size() + " bytes after "
          + "its upload, expected " + length);
    }
    catalog.backstops().record(new Backstops.Backstop(packId, bucketName, key, length,
        Optional.of(HexFormat.of().formatHex(sha256.digest()))), clock.millis());
    LOG.info("pack {}: backstop s3://{}/{} ({} bytes) placed", packId.shortForm(), bucketName, key, length);
  }

  private static MessageDigest digest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(algorithm + " is part of every JDK", e);
    }
  }

  /** The first {@code limit} bytes of a stream. */
  private static final class BoundedInput extends java.io.FilterInputStream {
    private long left;

    BoundedInput(InputStream in, long limit) {
      super(in);
      this.left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left <= 0) {
        return -1;
      }
      int b = super.read();
      if (b >= 0) {
        left--;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) {
        return -1;
      }
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) {
        left -= n;
      }
      return n;
    }
  }
}
