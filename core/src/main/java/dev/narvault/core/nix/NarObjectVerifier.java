package dev.narvault.core.nix;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.OptionalLong;
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import org.apache.commons.compress.compressors.bzip2.BZip2CompressorInputStream;
import org.tukaani.xz.MemoryLimitException;

/**
 * Streams a stored NAR object once, measuring FileHash/FileSize of its bytes and NarHash/NarSize
 * of the NAR inside (xz, zstd, bzip2 or none), then compares with the narinfo.
 *
 * <p>Nix signs only StorePath, NarHash, NarSize and References: FileHash, FileSize, URL and
 * Compression are not signed, so only the decompressed NarHash proves an object belongs to its
 * store path. Every object is therefore decompressed (xz through {@link XzDecoder}); a
 * compression narvault cannot decompress is a rejection. Bounds: decompression stops one byte
 * past the narinfo's NarSize (no decompression bomb), the stored object is never read more than
 * one byte past its FileSize, xz may use at most {@value #XZ_MEMORY_LIMIT_KIB} KiB and zstd a
 * window of at most 2^{@value #ZSTD_WINDOW_LOG_MAX}.
 */
public final class NarObjectVerifier {
  private static final int BUFFER = 64 * 1024;
  /** The xz memory limit (liblzma or xz-java): presets up to -9 need 65 MiB; 256 MiB leaves room. */
  static final int XZ_MEMORY_LIMIT_KIB = 256 * 1024;
  /** zstd's largest window without --long: 2^27 = 128 MiB (zstd's own default limit). */
  static final int ZSTD_WINDOW_LOG_MAX = 27;
  /** The compressions whose NARs narvault can verify, as narinfos spell them. */
  public static final java.util.Set<String> COMPRESSIONS = java.util.Set.of("none", "xz", "zstd", "bzip2");

  private NarObjectVerifier() {}

  /**
   * Verifies {@code object} against {@code narInfo}, copying the stored bytes to {@code copy}
   * (which may be {@link OutputStream#nullOutputStream()}) as they are read.
   *
   * @throws NarVerificationException when a hash or size differs, or the narinfo lacks FileHash
   */
  public static NarObjectDigest verify(InputStream object, NarInfo narInfo, OutputStream copy)
      throws IOException {
    Sha256Hash expectedFileHash = narInfo.fileHash().orElseThrow(() ->
        new NarVerificationException("narinfo of " + narInfo.storePath() + " has no FileHash"));
    long fileLimit = narInfo.fileSize().isPresent() ? narInfo.fileSize().getAsLong() + 1 : Long.MAX_VALUE;
    NarObjectDigest d = digest(object, narInfo.compression(), narInfo.narSize() + 1, fileLimit, copy);
    String what = narInfo.storePath().toString();
    if (!d.fileHash().equals(expectedFileHash)) {
      throw mismatch(what, "FileHash", expectedFileHash, d.fileHash());
    }
    if (narInfo.fileSize().isPresent() && narInfo.fileSize().getAsLong() != d.fileSize()) {
      throw mismatch(what, "FileSize", narInfo.fileSize().getAsLong(), d.fileSize());
    }
    if (d.narSize().getAsLong() != narInfo.narSize()) {
      throw mismatch(what, "NarSize", narInfo.narSize(), d.narSize().getAsLong());
    }
    if (!d.narHash().get().equals(narInfo.narHash())) {
      throw mismatch(what, "NarHash", narInfo.narHash(), d.narHash().get());
    }
    return d;
  }

  /**
   * Measures an object of the given compression. The NAR is read at most {@code narLimit} bytes
   * far (a larger one is reported with its size capped there); the stored object at most
   * {@code fileLimit} bytes far (a longer one is a {@link NarVerificationException}).
   *
   * @throws NarVerificationException for a corrupt or truncated stream or an unknown compression
   */
  public static NarObjectDigest digest(InputStream object, String compression, long narLimit, long fileLimit,
      OutputStream copy) throws IOException {
    MeasuringStream stored = new MeasuringStream(object, copy, fileLimit);
    MessageDigest nar = Sha256Hash.newDigest();
    long size;
    try (InputStream decompressed = decompress(compression, nonClosing(stored))) {
      size = consume(decompressed, nar, narLimit);
    } catch (IOException e) {
      // What the stored stream itself threw (network, limit) passes; anything else the
      // decompressor threw means the object is not a valid stream of its compression.
      if (e instanceof NarVerificationException || stored.failed) {
        throw e;
      }
      if (e instanceof MemoryLimitException) {
        throw new NarVerificationException("xz stream needs more than " + XZ_MEMORY_LIMIT_KIB
            + " KiB to decompress", e);
      }
      if (e instanceof EOFException) {
        throw new NarVerificationException(compression + " stream is truncated", e);
      }
      throw new NarVerificationException(compression + " stream is corrupt: " + e.getMessage(), e);
    }
    drain(stored);
    return new NarObjectDigest(stored.hash(), stored.count, Optional.of(new Sha256Hash(nar.digest())),
        OptionalLong.of(size));
  }

  /** The NAR inside, as a stream; the stored stream is closed by the caller. */
  private static InputStream decompress(String compression, InputStream stored) throws IOException {
    return switch (compression) {
      case "none" -> stored;
      case "xz" -> XzDecoder.open(stored, XZ_MEMORY_LIMIT_KIB);
      case "zstd" -> {
        ZstdInputStreamNoFinalizer z = new ZstdInputStreamNoFinalizer(stored);
        z.setLongMax(ZSTD_WINDOW_LOG_MAX);
        yield z;
      }
      case "bzip2" -> new BZip2CompressorInputStream(stored);
      default -> throw new NarVerificationException("compression '" + compression
          + "' cannot be checked against the signed NarHash (narvault verifies " + COMPRESSIONS + ")");
    };
  }

  private static long consume(InputStream in, MessageDigest digest, long limit) throws IOException {
    byte[] buf = new byte[BUFFER];
    long total = 0;
    int n;
    while (total < limit && (n = in.read(buf, 0, (int) Math.min(buf.length, limit - total))) > 0) {
      digest.update(buf, 0, n);
      total += n;
    }
    return total;
  }

  private static void drain(InputStream in) throws IOException {
    byte[] buf = new byte[BUFFER];
    while (in.read(buf) >= 0) {
      // MeasuringStream does the work as bytes pass.
    }
  }

  private static InputStream nonClosing(InputStream in) {
    return new FilterInputStream(in) {
      @Override
      public void close() {}
    };
  }

  private static NarVerificationException mismatch(String what, String field, Object expected, Object actual) {
    return new NarVerificationException(
        field + " mismatch for " + what + ": narinfo says " + expected + ", object has " + actual);
  }

  /** Hashes, counts and copies the stored bytes as they are read; refuses to read past a limit. */
  private static final class MeasuringStream extends FilterInputStream {
    private final MessageDigest digest = Sha256Hash.newDigest();
    private final OutputStream copy;
    private final long limit;
    long count;
    /** The underlying stream failed (not the format): such errors are not the object's fault. */
    boolean failed;

    MeasuringStream(InputStream in, OutputStream copy, long limit) {
      super(in);
      this.copy = copy;
      this.limit = limit;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (count >= limit) {
        failed = true;
        throw new NarVerificationException("object is longer than its FileSize (" + (limit - 1) + " bytes)");
      }
      int n;
      try {
        n = super.read(b, off, (int) Math.min(len, limit - count));
      } catch (IOException e) {
        failed = true;
        throw e;
      }
      if (n > 0) {
        digest.update(b, off, n);
        copy.write(b, off, n);
        count += n;
      }
      return n;
    }

    @Override
    public long skip(long n) throws IOException {
      // Skipping would leave bytes unmeasured: read them instead.
      byte[] buf = new byte[(int) Math.min(n, BUFFER)];
      int r = read(buf, 0, buf.length);
      return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
      return false;
    }

    Sha256Hash hash() {
      return new Sha256Hash(digest.digest());
    }
  }
}
