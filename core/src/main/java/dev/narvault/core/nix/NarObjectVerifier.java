package dev.narvault.core.nix;

import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.OptionalLong;
import org.tukaani.xz.CorruptedInputException;
import org.tukaani.xz.XZFormatException;
import org.tukaani.xz.XZInputStream;

/**
 * Streams a stored NAR object once, measuring FileHash/FileSize of its bytes and, for xz and
 * uncompressed objects, NarHash/NarSize of the NAR inside, then compares with the narinfo.
 *
 * <p>zstd and bzip2 objects are checked by FileHash and FileSize only: the stack has no
 * decompressor for them. Decompression stops one byte past the narinfo's NarSize, so a forged
 * narinfo cannot make narvault inflate a decompression bomb.
 */
public final class NarObjectVerifier {
  private static final int BUFFER = 64 * 1024;

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
    NarObjectDigest d = digest(object, narInfo.compression(), narInfo.narSize() + 1, copy);
    String what = narInfo.storePath().toString();
    if (!d.fileHash().equals(expectedFileHash)) {
      throw mismatch(what, "FileHash", expectedFileHash, d.fileHash());
    }
    if (narInfo.fileSize().isPresent() && narInfo.fileSize().getAsLong() != d.fileSize()) {
      throw mismatch(what, "FileSize", narInfo.fileSize().getAsLong(), d.fileSize());
    }
    if (d.narSize().isPresent() && d.narSize().getAsLong() != narInfo.narSize()) {
      throw mismatch(what, "NarSize", narInfo.narSize(), d.narSize().getAsLong());
    }
    if (d.narHash().isPresent() && !d.narHash().get().equals(narInfo.narHash())) {
      throw mismatch(what, "NarHash", narInfo.narHash(), d.narHash().get());
    }
    return d;
  }

  /**
   * Measures an object of the given compression. The NAR is read at most {@code narLimit}
   * bytes far; a larger one is reported with its size capped there.
   */
  public static NarObjectDigest digest(InputStream object, String compression, long narLimit,
      OutputStream copy) throws IOException {
    MeasuringStream stored = new MeasuringStream(object, copy);
    Optional<Sha256Hash> narHash = Optional.empty();
    OptionalLong narSize = OptionalLong.empty();
    switch (compression) {
      case "none" -> {
        drain(stored);
        narSize = OptionalLong.of(stored.count);
      }
      case "xz" -> {
        MessageDigest nar = Sha256Hash.newDigest();
        long size;
        try {
          size = consume(new XZInputStream(nonClosing(stored)), nar, narLimit);
        } catch (XZFormatException | CorruptedInputException e) {
          throw new NarVerificationException("xz stream is corrupt: " + e.getMessage(), e);
        } catch (EOFException e) {
          throw new NarVerificationException("xz stream is truncated", e);
        }
        drain(stored);
        narHash = Optional.of(new Sha256Hash(nar.digest()));
        narSize = OptionalLong.of(size);
      }
      default -> drain(stored);
    }
    Sha256Hash fileHash = stored.hash();
    if (compression.equals("none")) {
      narHash = Optional.of(fileHash);
    }
    return new NarObjectDigest(fileHash, stored.count, narHash, narSize);
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

  /** Hashes, counts and copies the stored bytes as they are read. */
  private static final class MeasuringStream extends FilterInputStream {
    private final MessageDigest digest = Sha256Hash.newDigest();
    private final OutputStream copy;
    long count;

    MeasuringStream(InputStream in, OutputStream copy) {
      super(in);
      this.copy = copy;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        digest.update((byte) b);
        copy.write(b);
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
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
