package dev.narvault.gateway.server;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NARs rebuilt from holders lately, kept on the gateway's disk (at most {@code maxBytes}, least
 * recently used dropped first), so a popular cold NAR is rebuilt once; and the single flight:
 * every request for a whole NAR that is not kept follows the one {@link RebuildRelay} of that
 * NAR, started by the first. A rebuild's file is also its reorder buffer (all fragments are read
 * at once and land out of order), so NARs are relayed through files whether or not they will be
 * kept, as long as the files being filled fit in {@code spoolBytes}.
 *
 * <p>An entry is admitted only whole and only when its bytes hash to the NAR's signed FileHash
 * (they were verified block by block on the way in; this checks the assembled file). Entries are
 * written to a temporary file and renamed into place; the directory is emptied at start, so
 * nothing half-written or from an earlier run is ever served. A rebuild that fails leaves no file.
 */
final class RebuiltNarCache implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RebuiltNarCache.class);
  private static final int COPY_BUFFER = 256 * 1024;

  private final Path dir;
  private final long maxBytes;
  private final long spoolBytes;
  private final boolean ownDir;
  private final Executor rebuilds;
  /** Committed entries by file key, in access order; values are sizes. */
  private final LinkedHashMap<String, Long> entries = new LinkedHashMap<>(16, 0.75f, true);
  /** Rebuilds in flight that others may follow, by file key. */
  private final Map<String, RebuildRelay> building = new HashMap<>();
  private final AtomicLong names = new AtomicLong();
  private long usedBytes;
  /** Bytes of the rebuilds in {@link #building}. */
  private long spooledBytes;
  private boolean closed;

  private RebuiltNarCache(Path dir, long maxBytes, long spoolBytes, boolean ownDir, Executor rebuilds) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.spoolBytes = spoolBytes;
    this.ownDir = ownDir;
    this.rebuilds = rebuilds;
  }

  /**
   * A cache in {@code dir} (its own files from an earlier run deleted now), or in a fresh
   * temporary directory (removed at close) when empty, whose rebuilds run on {@code rebuilds}. A
   * NAR larger than {@code maxBytes} is not kept (0: none is); rebuilds are relayed through files
   * while those fit in {@code spoolBytes} (0: every request rebuilds its own, in order, straight
   * to its client).
   */
  static RebuiltNarCache open(Optional<Path> dir, long maxBytes, long spoolBytes, Executor rebuilds)
      throws IOException {
    if (maxBytes < 0 || spoolBytes < 0) {
      throw new IllegalArgumentException("cache and spool sizes must be >= 0, got " + maxBytes + ", " + spoolBytes);
    }
    Path d = dir.isPresent() ? dir.get() : Files.createTempDirectory("narvault-gateway-cache-");
    Files.createDirectories(d);
    deleteContents(d);
    return new RebuiltNarCache(d, maxBytes, spoolBytes, dir.isEmpty(), rebuilds);
  }

  /** The cached file of a NAR, if there is one (marks it recently used). */
  private synchronized Optional<Path> get(String fileKey) {
    return entries.get(fileKey) == null ? Optional.empty() : Optional.of(path(fileKey));
  }

  /**
   * Writes {@code [from, from + length)} of a cached NAR to {@code out} (to a response body by
   * {@code sendfile}, else in fresh arrays); false, with nothing written, when the NAR
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
      if (channel.size() < from + length) {
        // Cut short on disk (another process in the directory, a disk fault): not kept any more.
        drop(fileKey);
        return false;
      }
      if (out instanceof ResponseBodyStream body) {
        // A client's response: the kernel sends the file's pages to its socket.
        body.write(channel, from, length);
        return true;
      }
      if (copy(channel, from, from + length, out) < from + length) {
        drop(fileKey);
        throw new IOException("cached NAR " + fileKey + " is shorter than expected: dropped from the cache");
      }
    }
    return true;
  }

  /** Forgets a kept file that is not whole any more, and deletes it. */
  private synchronized void drop(String fileKey) {
    Long size = entries.remove(fileKey);
    if (size == null) {
      return;
    }
    usedBytes -= size;
    try {
      Files.deleteIfExists(path(fileKey));
    } catch (IOException e) {
      LOG.warn("cannot remove the cached NAR {}: {}", fileKey, e.toString());
    }
    LOG.warn("cached NAR {} was cut short on disk: dropped from the cache", fileKey);
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

  /** Whether a NAR of {@code length} bytes may be kept. */
  boolean fits(long length) {
    return length <= maxBytes;
  }

  /**
   * A follower of the NAR, who must close it: of its kept file when there is one, else of the
   * rebuild in flight, else of a rebuild started now with {@code fill} on the cache's executor
   * (kept when it ends whole and verified, and {@linkplain #fits fits}); empty when none of these
   * and the files of the rebuilds in flight leave no room for this one.
   */
  synchronized Optional<RebuildRelay.Follower> follow(String fileKey, long length, String fileHash,
      RebuildRelay.Fill fill) throws IOException {
    if (closed) {
      throw new IOException("the NAR cache is closed");
    }
    // Kept files are deleted and relays' files renamed or deleted only under this lock: the
    // files opened here exist.
    if (entries.get(fileKey) != null) {
      return Optional.of(RebuildRelay.whole(fileKey, length, FileChannel.open(path(fileKey))));
    }
    RebuildRelay running = building.get(fileKey);
    if (running != null) {
      RebuildRelay.Follower follower = running.join(FileChannel.open(running.file()));
      if (follower != null) {
        return Optional.of(follower);
      }
    }
    if (length > spoolBytes - spooledBytes) {
      return Optional.empty();
    }
    RebuildRelay.Follower first = RebuildRelay.start(fileKey, length, fileHash, dir.resolve("tmp-"
        + names.incrementAndGet()), rebuilds, fill, this::ended);
    building.put(fileKey, first.relay());
    spooledBytes += length;
    return Optional.of(first);
  }

  /** A rebuild has ended: forgotten, and its file admitted if it is whole, verified and fits. */
  private synchronized boolean ended(RebuildRelay relay, boolean verified) {
    if (building.remove(relay.fileKey(), relay)) {
      spooledBytes -= relay.length();
    }
    if (!verified || closed || !fits(relay.length()) || entries.containsKey(relay.fileKey())) {
      return false;
    }
    try {
      makeRoom(relay.length());
      Files.move(relay.file(), path(relay.fileKey()), StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.warn("cannot keep rebuilt NAR {}: {}", relay.fileKey(), e.toString());
      return false;
    }
    entries.put(relay.fileKey(), relay.length());
    usedBytes += relay.length();
    return true;
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

  /** Deletes every file; rebuilds still running end without being kept. */
  @Override
  public synchronized void close() {
    closed = true;
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
