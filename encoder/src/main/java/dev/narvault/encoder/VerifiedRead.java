package dev.narvault.encoder;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.pack.Manifest;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * An archived NAR object read whole through the holders (every block checked against its signed
 * manifest by {@link Archive}) and checked against its narinfo as it streams: FileHash and
 * FileSize of the stored bytes, NarHash and NarSize decompressed per its Compression. The drain
 * reads back before it deletes; promote and restore before they put an object into S3.
 *
 * <p>The bytes reach {@code copy} as they are read, before the narinfo's hashes can be compared:
 * what was copied counts only when {@link #into} returns normally.
 */
final class VerifiedRead {
  private VerifiedRead() {}

  /**
   * Reads {@code nar} through {@code archive} into {@code copy} (which may be {@link
   * OutputStream#nullOutputStream()}), the holder reads on one of {@code readers}.
   *
   * @throws IOException naming the object, when it cannot be read (fewer than k fragments answer
   *     with verified blocks) or does not match its narinfo
   */
  static void into(Archive archive, ArchivedNar nar, ExecutorService readers, OutputStream copy) throws IOException {
    into(o -> archive.read(nar, 0, nar.length(), o), NarInfo.parse(nar.narInfo()), nar.fileKey(), readers, copy);
  }

  /**
   * As above, for an object of a pack the catalog does not record yet (a rewrite's new pack): read
   * through {@code manifest} from the holders {@code placements} name.
   */
  static void into(Archive archive, Manifest manifest, List<FragmentPlacement> placements, Manifest.Nar nar,
      ExecutorService readers, OutputStream copy) throws IOException {
    into(o -> archive.readPlaced(manifest, placements, nar.offset(), nar.length(), o), nar.parsedNarInfo(), nar.key(),
        readers, copy);
  }

  /** Where the object's bytes come from: written whole to the stream given, or a failure. */
  private interface Source {
    void writeTo(OutputStream out) throws IOException;
  }

  private static void into(Source source, NarInfo info, String fileKey, ExecutorService readers, OutputStream copy)
      throws IOException {
    PipedInputStream in = new PipedInputStream(1 << 20);
    PipedOutputStream out = new PipedOutputStream(in);
    Future<?> reading = readers.submit(() -> {
      try (OutputStream o = out) {
        source.writeTo(o);
      }
      return null;
    });
    try (in) {
      NarObjectVerifier.verify(in, info, copy);
      reading.get();
    } catch (ExecutionException e) {
      throw new IOException("reading " + fileKey + " from the holders failed: " + e.getCause().getMessage(),
          e.getCause());
    } catch (InterruptedException e) {
      reading.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading " + fileKey);
    } catch (IOException e) {
      // A read that failed ends the stream early: name that failure, not the truncation it caused.
      Throwable cause = e;
      if (reading.isDone() && !reading.isCancelled()) {
        try {
          reading.get();
        } catch (ExecutionException failed) {
          cause = failed.getCause();
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      }
      reading.cancel(true);
      throw new IOException("reading " + fileKey + " back did not verify: " + cause.getMessage(), cause);
    }
  }
}
