package dev.narvault.gateway.server;

import dev.narvault.core.nix.Sha256Hash;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NARs rebuilt from holders lately, kept on the gateway's disk (at most {@code maxBytes}, least
 * recently used dropped first), so a popular cold NAR is rebuilt once. Also the single flight:
 * while one request rebuilds a NAR, others asking for it wait for that rebuild instead of
 * starting their own.
 *
 * <p>An entry is admitted only whole and only when its bytes hash to the NAR's signed FileHash
 * (they were verified block by block on the way in; this checks the assembled file). Entries are
 * written to a temporary file and renamed into place; the directory is emptied at start, so
 * nothing half-written or from an earlier run is ever served.
 */
final class RebuiltNarCache implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RebuiltNarCache.class);
  private static final int COPY_BUFFER = 256 * 1024;

  private final Path dir;
  private final long maxBytes;
  private final boolean ownDir;
  /** Committed entries by file key, in access order; values are sizes. */
  private final LinkedHashMap<String, Long> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, CountDownLatch> building = new HashMap<>();
  private final AtomicLong names = new AtomicLong();
  private long usedBytes;

  private RebuiltNarCache(Path dir, long maxBytes, boolean ownDir) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.ownDir = ownDir;
  }

  /**
   * A cache in {@code dir} (its own files from an earlier run deleted now), or in a fresh temporary directory (removed at close)
   * when empty. A {@code maxBytes} of 0 keeps nothing but still shares rebuilds in flight.
   */
  static RebuiltNarCache open(Optional<Path> dir, long maxBytes) throws IOException {
    if (maxBytes < 0) {
      throw new IllegalArgumentException("cache size must be >= 0, got " + maxBytes);
    }
    Path d = dir.isPresent() ? dir.get() : Files.createTempDirectory("narvault-gateway-cache-");
    Files.createDirectories(d);
    deleteContents(d);
    return new RebuiltNarCache(d, maxBytes, dir.isEmpty());
  }

  /** The cached file of a NAR, if there is one (marks it recently used). */
  private synchronized Optional<Path> get(String fileKey) {
    return entries.get(fileKey) == null ? Optional.empty() : Optional.of(path(fileKey));
  }

  /**
   * Writes {@code [from, from + length)} of a cached NAR to {@code out}, in fresh arrays (a
   * response body hands each to Netty without copying); false, with nothing written, when the NAR
   * is not cached (or was evicted just now).
   */
  boolean copyTo(String fileKey, long from, long length, OutputStream out) throws IOException {
    Optional<Path> file = get(fileKey);
    if (file.isEmpty()) {
      return false;
    }
    FileChannel channel;
    try {
      channel = FileChannel.open(file.get());
    } catch (NoSuchFileException evicted) {
      return false;
    }
    try (channel) {
      long at = from;
      long end = from + length;
      while (at < end) {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(COPY_BUFFER, end - at));
        while (buf.hasRemaining()) {
          if (channel.read(buf, at + buf.position()) < 0) {
            throw new IOException("cached NAR " + fileKey + " is shorter than expected");
          }
        }
        out.write(buf.array(), 0, buf.limit());
        at += buf.limit();
      }
    }
    return true;
  }

  /**
   * Joins the rebuild of a NAR. The first caller gets a {@link Rebuild} to fill and must close
   * it; a caller that arrives while it runs waits (at most {@code wait}) and gets empty, after
   * which {@link #get} has the NAR if that rebuild succeeded.
   */
  Optional<Rebuild> begin(String fileKey, long length, String fileHash, Duration wait) throws IOException {
    if (length > maxBytes) {
      // It could not be kept, so nobody could be served from it: nothing to share or wait for.
      return Optional.of(new Rebuild(fileKey, length, fileHash, new CountDownLatch(0)));
    }
    CountDownLatch running;
    synchronized (this) {
      running = building.get(fileKey);
      if (running == null) {
        CountDownLatch mine = new CountDownLatch(1);
        building.put(fileKey, mine);
        try {
          return Optional.of(new Rebuild(fileKey, length, fileHash, mine));
        } catch (IOException | RuntimeException e) {
          building.remove(fileKey);
          mine.countDown();
          throw e;
        }
      }
    }
    try {
      running.await(wait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while waiting for a rebuild");
    }
    return Optional.empty();
  }

  /** One NAR being rebuilt: written to a temporary file, admitted at {@link #commit}. */
  final class Rebuild implements AutoCloseable {
    private final String fileKey;
    private final long length;
    private final String fileHash;
    private final CountDownLatch done;
    private final Path temp;
    private final MessageDigest digest = Sha256Hash.newDigest();
    private final OutputStream out;
    private boolean failed;
    private boolean committed;

    private Rebuild(String fileKey, long length, String fileHash, CountDownLatch done) throws IOException {
      this.fileKey = fileKey;
      this.length = length;
      this.fileHash = fileHash;
      this.done = done;
      this.temp = dir.resolve("tmp-" + names.incrementAndGet());
      this.out = length <= maxBytes
          ? new DigestOutputStream(new java.io.BufferedOutputStream(Files.newOutputStream(temp), 1 << 16), digest)
          : OutputStream.nullOutputStream();
    }

    /**
     * A stream that writes to {@code client} and keeps a copy while the cache can take it: a full
     * disk costs the cache this entry, never the client its NAR.
     */
    OutputStream alongside(OutputStream client) {
      return new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          if (!failed) {
            try {
              out.write(b, off, len);
            } catch (IOException e) {
              LOG.warn("cannot keep rebuilt NAR {}: {}", fileKey, e.toString());
              failed = true;
            }
          }
          client.write(b, off, len);
        }
      };
    }

    /** Admits the NAR, written whole, if keeping it never failed and its bytes match its FileHash. */
    void commit() throws IOException {
      if (failed) {
        return;
      }
      out.close();
      if (length > maxBytes) {
        return;
      }
      if (Files.size(temp) != length || !Sha256Hash.parse(fileHash).equals(new Sha256Hash(digest.digest()))) {
        LOG.error("rebuilt NAR {} does not match its FileHash: not cached", fileKey);
        return;
      }
      synchronized (RebuiltNarCache.this) {
        makeRoom(length);
        Files.move(temp, path(fileKey), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        entries.put(fileKey, length);
        usedBytes += length;
        committed = true;
      }
    }

    @Override
    public void close() {
      try {
        out.close();
        if (!committed) {
          Files.deleteIfExists(temp);
        }
      } catch (IOException e) {
        LOG.warn("cannot remove {}: {}", temp, e.toString());
      } finally {
        if (done.getCount() > 0) {
          synchronized (RebuiltNarCache.this) {
            building.remove(fileKey);
          }
          done.countDown();
        }
      }
    }
  }

  private void makeRoom(long bytes) throws IOException {
    var it = entries.entrySet().iterator();
    while (usedBytes + bytes > maxBytes && it.hasNext()) {
      var eldest = it.next();
      Files.deleteIfExists(path(eldest.getKey()));
      usedBytes -= eldest.getValue();
      it.remove();
    }
  }

  /** File keys look like {@code nar/<nix32>.nar.xz}: one flat name per key. */
  private Path path(String fileKey) {
    return dir.resolve("c-" + fileKey.replace('/', '_'));
  }

  private static void deleteContents(Path d) throws IOException {
    try (Stream<Path> files = Files.list(d)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        String name = f.getFileName().toString();
        // Only this cache's own files: a directory shared with something else loses nothing else.
        if (Files.isRegularFile(f) && (name.startsWith("c-") || name.startsWith("tmp-"))) {
          Files.delete(f);
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    try {
      deleteContents(dir);
      if (ownDir) {
        Files.deleteIfExists(dir);
      }
    } catch (IOException e) {
      LOG.warn("cannot clean the NAR cache {}: {}", dir, e.toString());
    }
  }
}
