package dev.narvault.gateway.server;

import dev.narvault.core.nix.Sha256Hash;
import java.io.IOException;
import java.io.InterruptedIOException;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NARs rebuilt from holders lately, kept on the gateway's disk (at most {@code maxBytes}, least
 * recently used dropped first), so a popular cold NAR is rebuilt once. Also the single flight:
 * while one request rebuilds a NAR, others asking for it follow that rebuild instead of starting
 * their own, each streaming the bytes from its file as they are written (verified blocks, as the
 * first client gets them), so a follower is never further behind than the rebuild.
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
  /** Rebuilds in flight that others may follow, by file key. */
  private final Map<String, Rebuild> building = new HashMap<>();
  private final AtomicLong names = new AtomicLong();
  private long usedBytes;

  private RebuiltNarCache(Path dir, long maxBytes, boolean ownDir) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.ownDir = ownDir;
  }

  /**
   * A cache in {@code dir} (its own files from an earlier run deleted now), or in a fresh
   * temporary directory (removed at close) when empty. A NAR larger than {@code maxBytes} is
   * neither kept nor shared (0: every request rebuilds its own).
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
      if (copy(channel, from, from + length, out) < from + length) {
        throw new IOException("cached NAR " + fileKey + " is shorter than expected");
      }
    }
    return true;
  }

  /**
   * Copies bytes {@code [from, end)} of a file to {@code out} in fresh arrays (a response body
   * hands each to Netty without copying); returns where it stopped: {@code end}, or earlier at
   * the end of the file.
   */
  private static long copy(FileChannel channel, long from, long end, OutputStream out) throws IOException {
    long at = from;
    while (at < end) {
      ByteBuffer buf = ByteBuffer.allocate((int) Math.min(COPY_BUFFER, end - at));
      while (buf.hasRemaining()) {
        if (channel.read(buf, at + buf.position()) < 0) {
          out.write(buf.array(), 0, buf.position());
          return at + buf.position();
        }
      }
      out.write(buf.array(), 0, buf.limit());
      at += buf.limit();
    }
    return at;
  }

  /** What {@link #begin} hands out: a rebuild to do, or one to follow. */
  sealed interface Flight permits Rebuild, Follower {}

  /**
   * Joins the rebuild of a NAR: the first caller gets a {@link Rebuild} to fill and must close
   * it; a caller arriving while it runs gets a {@link Follower} of it.
   */
  Flight begin(String fileKey, long length, String fileHash) throws IOException {
    if (length > maxBytes) {
      // It could not be kept, so it is not written to disk, and there is nothing to follow.
      return new Rebuild(fileKey, length, fileHash);
    }
    synchronized (this) {
      Rebuild running = building.get(fileKey);
      if (running != null) {
        return new Follower(running);
      }
      Rebuild mine = new Rebuild(fileKey, length, fileHash);
      building.put(fileKey, mine);
      return mine;
    }
  }

  /** A request following another's rebuild of the same NAR. */
  static final class Follower implements Flight {
    private final Rebuild rebuild;

    private Follower(Rebuild rebuild) {
      this.rebuild = rebuild;
    }

    /**
     * Streams the NAR from the rebuild's file to {@code out} as it is written, from its start, in
     * fresh arrays; returns how many bytes it wrote: all of them, or fewer when the rebuild
     * failed, stopped keeping a copy (a full disk), or wrote nothing for {@code stall}. The caller
     * reads the rest elsewhere.
     */
    long copyTo(OutputStream out, Duration stall) throws IOException {
      FileChannel channel;
      try {
        channel = FileChannel.open(rebuild.temp);
      } catch (NoSuchFileException done) {
        // Already committed (renamed) or dropped: nothing to follow.
        return 0;
      }
      try (channel) {
        long at = 0;
        while (at < rebuild.length) {
          long available = rebuild.awaitWritten(at, stall);
          if (available <= at) {
            return at;
          }
          long reached = copy(channel, at, available, out);
          if (reached < available) {
            return reached;
          }
          at = reached;
        }
        return at;
      }
    }
  }

  /** One NAR being rebuilt: written to a temporary file, admitted at {@link #commit}. */
  final class Rebuild implements AutoCloseable, Flight {
    private final String fileKey;
    private final long length;
    private final String fileHash;
    private final Path temp;
    private final MessageDigest digest = Sha256Hash.newDigest();
    private final OutputStream out;
    private volatile boolean failed;
    private boolean committed;
    /** Bytes in the temporary file so far, for followers; guarded by this. */
    private long written;
    /** No more bytes will come to the temporary file; guarded by this. */
    private boolean ended;

    private Rebuild(String fileKey, long length, String fileHash) throws IOException {
      this.fileKey = fileKey;
      this.length = length;
      this.fileHash = fileHash;
      this.temp = dir.resolve("tmp-" + names.incrementAndGet());
      // Unbuffered: what followers are told is in the file must be there (writes come a chunk at a time).
      this.out = length <= maxBytes ? new DigestOutputStream(Files.newOutputStream(temp), digest)
          : OutputStream.nullOutputStream();
    }

    /**
     * Waits until the file holds more than {@code at} bytes, no more will come, or nothing came
     * for {@code stall}; returns how many bytes it holds.
     */
    private synchronized long awaitWritten(long at, Duration stall) throws InterruptedIOException {
      long deadline = System.nanoTime() + stall.toNanos();
      while (written <= at && !ended) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while following a rebuild");
        }
      }
      return written;
    }

    private synchronized void advance(long bytes) {
      written += bytes;
      notifyAll();
    }

    private synchronized void end() {
      ended = true;
      notifyAll();
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
              advance(len);
            } catch (IOException e) {
              LOG.warn("cannot keep rebuilt NAR {}: {}", fileKey, e.toString());
              failed = true;
              end();
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

    /**
     * Ends the rebuild: followers get what was written and no more (an open file stays readable
     * after its name is gone), the temporary file goes unless committed.
     */
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
        synchronized (RebuiltNarCache.this) {
          building.remove(fileKey, this);
        }
        end();
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
