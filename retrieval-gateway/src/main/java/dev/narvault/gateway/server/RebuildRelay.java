package dev.narvault.gateway.server;

import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.pack.RangeFile;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NAR rebuilt into a file on a thread of its own, at the holders' speed, while any number of
 * clients follow the file as it grows, each at its own speed: the file is the buffer, so a client
 * that stalls slows nobody else and memory stays bounded. The first client is a follower like the
 * others. The rebuild may fill the file in any order (every fragment the NAR spans is read at
 * once, {@link dev.narvault.core.pack.PackFiller}); followers are streamed its completed prefix.
 *
 * <p>What followers may read is published after it is in the file: the prefix written so far,
 * and at the end either "whole and verified" or the failure. The prefix is hashed as it grows;
 * the last byte is held back until the file hashes to the signed FileHash, so a follower never
 * ends a response that was not verified whole; a failure reaches every follower as an
 * {@link IOException} (their responses are cut, never ended short).
 *
 * <p>A follower that leaves (its client went away) does not stop the rebuild while others follow
 * it. When the last one has left, the rebuild stops at its next write instead of spending the
 * holders' bandwidth on a NAR nobody waits for; one arriving before that joins it as usual.
 */
final class RebuildRelay {
  private static final Logger LOG = LoggerFactory.getLogger(RebuildRelay.class);
  private static final int COPY_BUFFER = 256 * 1024;

  /** Writes a NAR, whole and in any order, into {@code file} (every byte already verified, each once). */
  @FunctionalInterface
  interface Fill {
    void fill(RangeFile file) throws IOException;
  }

  /** Where a follower's bytes come from, for the metrics. */
  enum Origin {
    /** A NAR kept whole earlier. */
    CACHE,
    /** The rebuild another request started. */
    SHARED,
    /** The rebuild this request started. */
    STARTED
  }

  /**
   * The rebuild could not write its file (a full disk, say): nothing is wrong with the NAR, so the
   * follower reads the rest from the holders itself, from {@link #position()} (the bytes it has
   * already written to its client).
   */
  static final class FileFailedException extends IOException {
    private final long position;

    FileFailedException(String message, long position, Throwable cause) {
      super(message, cause);
      this.position = position;
    }

    long position() {
      return position;
    }
  }

  /**
   * Told on the rebuild's thread when it has ended, before any follower learns of the end: the
   * owner forgets the rebuild, and keeps its file when it is {@code verified}; true when it took
   * the file (then the relay does not delete it).
   */
  @FunctionalInterface
  interface Ending {
    boolean ended(RebuildRelay relay, boolean verified);
  }

  private final String fileKey;
  private final long length;
  private final Path file;
  private final Sha256Hash fileHash;
  private final Ending ending;
  /** Bytes at the start of the file written so far, with no gap; guarded by this. */
  private long written;
  /** Runs written beyond {@link #written}, start to end; guarded by this. */
  private final TreeMap<Long, Long> ahead = new TreeMap<>();
  /** Followers that have not left; guarded by this. */
  private int followers = 1;
  /** The rebuild stopped writing because nobody followed it any more; guarded by this. */
  private boolean stopping;
  /** The rebuild has ended (followers may read {@link #length} bytes unless it failed); guarded by this. */
  private boolean ended;
  /** Why the rebuild failed, once it ended; guarded by this. */
  private IOException failure;
  /** The rebuild failed because its file could not be written; guarded by this. */
  private boolean fileFailed;

  private RebuildRelay(String fileKey, long length, Path file, Sha256Hash fileHash, Ending ending) {
    this.fileKey = fileKey;
    this.length = length;
    this.file = file;
    this.fileHash = fileHash;
    this.ending = ending;
  }

  /**
   * Creates {@code file} (it must not exist) and starts filling it on {@code executor}; returns
   * the relay with its first follower, who must close it. {@code file} exists until {@code ending}
   * has been told, so a caller that hands out followers and learns of the end under one lock may
   * open it meanwhile.
   */
  static Follower start(String fileKey, long length, String fileHash, Path file, Executor executor, Fill fill,
      Ending ending) throws IOException {
    if (length < 0) {
      throw new IllegalArgumentException("NAR length must be >= 0, got " + length);
    }
    RebuildRelay relay = new RebuildRelay(fileKey, length, file, Sha256Hash.parse(fileHash), ending);
    FileChannel writer;
    try {
      writer = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
          StandardOpenOption.READ);
    } catch (IOException e) {
      throw new FileFailedException("cannot create " + file + ": " + e, 0, e);
    }
    Follower first;
    try {
      first = new Follower(relay, FileChannel.open(file, StandardOpenOption.READ), Origin.STARTED);
    } catch (IOException e) {
      writer.close();
      Files.deleteIfExists(file);
      throw new FileFailedException("cannot read " + file + ": " + e, 0, e);
    }
    try {
      executor.execute(() -> relay.run(writer, fill));
    } catch (RejectedExecutionException e) {
      first.close();
      writer.close();
      Files.deleteIfExists(file);
      throw new IOException("the gateway is shutting down", e);
    }
    return first;
  }

  /** A follower of a file that is whole already (a kept NAR): it reads it and no more. */
  static Follower whole(String fileKey, long length, FileChannel channel) {
    RebuildRelay done = new RebuildRelay(fileKey, length, null, null, (r, v) -> false);
    done.written = length;
    done.ended = true;
    return new Follower(done, channel, Origin.CACHE);
  }

  /**
   * A new follower of this rebuild, reading {@code file} (opened by the caller while the file is
   * known to exist); null, with the channel closed, when the rebuild has stopped or ended and
   * nothing new may follow it.
   */
  Follower join(FileChannel channel) throws IOException {
    synchronized (this) {
      if (!stopping && !ended) {
        followers++;
        return new Follower(this, channel, Origin.SHARED);
      }
    }
    channel.close();
    return null;
  }

  Path file() {
    return file;
  }

  String fileKey() {
    return fileKey;
  }

  long length() {
    return length;
  }

  /** The rebuild's own thread: fills the file, verifies it, tells the owner, then the followers. */
  private void run(FileChannel writer, Fill fill) {
    IOException failed = null;
    try (writer; Sink sink = new Sink()) {
      fill.fill(sink);
      failed = sink.verify();
    } catch (IOException e) {
      failed = e;
    } catch (RuntimeException e) {
      LOG.error("rebuild of NAR {} failed: {}", fileKey, e.toString(), e);
      failed = new IOException("rebuild failed: " + e, e);
    }
    boolean kept = false;
    try {
      kept = ending.ended(this, failed == null);
    } catch (RuntimeException e) {
      LOG.error("NAR {} could not be kept: {}", fileKey, e.toString(), e);
    } finally {
      if (!kept) {
        try {
          // Followers keep reading through their own open channels.
          Files.deleteIfExists(file);
        } catch (IOException e) {
          LOG.warn("cannot remove {}: {}", file, e.toString());
        }
      }
      synchronized (this) {
        ended = true;
        failure = failed;
        notifyAll();
      }
    }
  }

  /**
   * What the rebuild writes to: the file (at any position, each byte once), the prefix followers
   * wait on, and the digest of that prefix. Every write and read goes through a channel of its
   * own while it lasts: a thread interrupted mid-write or mid-read (a hedged read cancelled, a
   * decode that no longer needs it) closes only the one it holds, not the file for the other
   * writers. Channels are kept for the next write rather than opened and closed for each; one an
   * interrupt closed is dropped.
   */
  private final class Sink implements RangeFile, AutoCloseable {
    /** Channels on the file not in use now; guarded by itself. */
    private final java.util.ArrayDeque<FileChannel> channels = new java.util.ArrayDeque<>();
    /** Set when the rebuild is over: a channel given back then is closed; guarded by channels. */
    private boolean closed;
    private final MessageDigest digest = Sha256Hash.newDigest();
    /** Taken by whoever hashes the prefix; the others go on writing. */
    private final ReentrantLock hashing = new ReentrantLock();
    /** Bytes hashed so far; guarded by hashing. */
    private long hashed;
    /** Where the prefix is read back to be hashed, made once; guarded by hashing. */
    private ByteBuffer readBack;

    @Override
    public void write(long position, byte[] b, int off, int len) throws IOException {
      synchronized (RebuildRelay.this) {
        if (followers == 0) {
          stopping = true;
          throw new InterruptedIOException("nobody follows the rebuild of NAR " + fileKey + " any more");
        }
      }
      if (position < 0 || len < 0 || len > length - position) {
        throw new IOException("rebuild of NAR " + fileKey + " wrote outside its " + length + " bytes: " + position
            + "+" + len);
      }
      ByteBuffer buf = ByteBuffer.wrap(b, off, len);
      FileChannel writer = null;
      try {
        writer = take();
        while (buf.hasRemaining()) {
          writer.write(buf, position + buf.position() - off);
        }
        giveBack(writer);
      } catch (ClosedByInterruptException e) {
        throw e;
      } catch (IOException e) {
        close(writer);
        synchronized (RebuildRelay.this) {
          fileFailed = true;
        }
        throw e;
      }
      written(position, position + len);
      if (hashing.tryLock()) {
        try {
          if (position == hashed) {
            // In order: hashed from the bytes at hand, not read back.
            digest.update(b, off, len);
            hashed += len;
          }
          hashPrefix();
        } finally {
          hashing.unlock();
        }
      }
    }

    @Override
    public void read(long position, byte[] into, int off, int len) throws IOException {
      FileChannel reader = take();
      try {
        ByteBuffer buf = ByteBuffer.wrap(into, off, len);
        while (buf.hasRemaining()) {
          if (reader.read(buf, position + buf.position() - off) < 0) {
            throw new IOException("NAR " + fileKey + " file ends before " + (position + len));
          }
        }
      } catch (IOException e) {
        close(reader);
        throw e;
      }
      giveBack(reader);
    }

    /** A channel on the file for one write or read: a kept one, or a new one. */
    private FileChannel take() throws IOException {
      synchronized (channels) {
        FileChannel kept = channels.poll();
        if (kept != null) {
          return kept;
        }
      }
      return FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }

    /** Keeps a channel that is still open for the next write or read, unless the rebuild is over. */
    private void giveBack(FileChannel channel) {
      synchronized (channels) {
        if (!closed && channel.isOpen()) {
          channels.push(channel);
          return;
        }
      }
      close(channel);
    }

    private void close(FileChannel channel) {
      if (channel == null) {
        return;
      }
      try {
        channel.close();
      } catch (IOException e) {
        LOG.debug("closing a channel on {}: {}", file, e.toString());
      }
    }

    /** Closes the kept channels; any given back later is closed then. */
    @Override
    public void close() {
      synchronized (channels) {
        closed = true;
        channels.forEach(this::close);
        channels.clear();
      }
    }

    /**
     * Hashes the prefix written so far, reading it back from the file (a writer that is not first
     * to the lock leaves its bytes to this); the caller holds {@link #hashing}.
     */
    private void hashPrefix() throws IOException {
      if (hashed >= prefix()) {
        return;
      }
      if (readBack == null) {
        readBack = ByteBuffer.allocate(COPY_BUFFER);
      }
      ByteBuffer buf = readBack;
      FileChannel reader = take();
      try {
        long prefix;
        while (hashed < (prefix = prefix())) {
          buf.clear().limit((int) Math.min(COPY_BUFFER, prefix - hashed));
          while (buf.hasRemaining()) {
            if (reader.read(buf, hashed + buf.position()) < 0) {
              throw new IOException("NAR " + fileKey + " file ends at " + (hashed + buf.position()));
            }
          }
          digest.update(buf.array(), 0, buf.limit());
          hashed += buf.limit();
        }
      } catch (IOException e) {
        close(reader);
        throw e;
      }
      giveBack(reader);
    }

    /** Null when the file is whole and hashes to the FileHash; else why not. */
    IOException verify() throws IOException {
      long prefix = prefix();
      if (prefix != length) {
        return new IOException("rebuild of NAR " + fileKey + " ended with " + prefix + " of " + length
            + " bytes in order");
      }
      hashing.lock();
      try {
        hashPrefix();
      } finally {
        hashing.unlock();
      }
      if (!fileHash.equals(new Sha256Hash(digest.digest()))) {
        LOG.error("rebuilt NAR {} does not match its FileHash: not served, not kept", fileKey);
        return new IOException("rebuilt NAR " + fileKey + " does not match its FileHash");
      }
      return null;
    }
  }

  /** Records bytes {@code [from, to)} as in the file; the prefix grows over every run it now reaches. */
  private synchronized void written(long from, long to) throws IOException {
    if (from < written || (ahead.floorEntry(from) != null && ahead.floorEntry(from).getValue() > from)
        || (ahead.ceilingKey(from) != null && ahead.ceilingKey(from) < to)) {
      throw new IOException("rebuild of NAR " + fileKey + " wrote bytes " + from + ".." + to + " twice");
    }
    if (from > written) {
      ahead.put(from, to);
      return;
    }
    written = to;
    Long next;
    while ((next = ahead.get(written)) != null) {
      ahead.remove(written);
      written = next;
    }
    notifyAll();
  }

  private synchronized long prefix() {
    return written;
  }

  /** Bytes followers may read now: all once verified, all but the last until then. */
  private long readable() {
    return ended ? length : Math.min(written, length - 1);
  }

  /**
   * Waits until followers may read more than {@code at} bytes, or the rebuild has ended; returns
   * how many they may read.
   *
   * @throws IOException when the rebuild failed, or published nothing new for {@code stall}
   */
  private synchronized long awaitReadable(long at, Duration stall) throws IOException {
    long deadline = System.nanoTime() + stall.toNanos();
    while (true) {
      if (failure != null && fileFailed) {
        throw new FileFailedException("rebuild of NAR " + fileKey + " could not write its file: " + failure, at,
            failure);
      }
      if (failure != null) {
        throw new IOException("rebuild of NAR " + fileKey + " failed: " + failure.getMessage(), failure);
      }
      long readable = readable();
      if (readable > at || ended) {
        return readable;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IOException("rebuild of NAR " + fileKey + " wrote nothing for " + stall.toSeconds() + " s");
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while following the rebuild of NAR " + fileKey);
      }
    }
  }

  private synchronized void leave() {
    followers--;
  }

  /** One client's place in the file: it reads at its own speed through its own channel. */
  static final class Follower implements AutoCloseable {
    private final RebuildRelay relay;
    private final FileChannel channel;
    private final Origin origin;
    private boolean closed;

    private Follower(RebuildRelay relay, FileChannel channel, Origin origin) {
      this.relay = relay;
      this.channel = channel;
      this.origin = origin;
    }

    Origin origin() {
      return origin;
    }

    RebuildRelay relay() {
      return relay;
    }

    /**
     * Streams the whole NAR to {@code out} as the rebuild publishes it (to a response body by
     * {@code sendfile}, else in fresh arrays); returns only when every byte, verified, is
     * written.
     *
     * @throws FileFailedException when the rebuild could not write its file (the caller may read
     *     the rest elsewhere)
     * @throws IOException when the rebuild failed or stalled for {@code stall}, or {@code out} failed
     */
    void copyTo(OutputStream out, Duration stall) throws IOException {
      long at = 0;
      while (true) {
        long readable = relay.awaitReadable(at, stall);
        if (readable == at) {
          return;
        }
        copy(at, readable, out);
        at = readable;
      }
    }

    private void copy(long from, long end, OutputStream out) throws IOException {
      if (out instanceof ResponseBodyStream body) {
        // A client's response: the kernel sends the file's pages to its socket.
        body.write(channel, from, end - from);
        return;
      }
      long at = from;
      while (at < end) {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(COPY_BUFFER, end - at));
        while (buf.hasRemaining()) {
          if (channel.read(buf, at + buf.position()) < 0) {
            throw new IOException("NAR " + relay.fileKey + " file ends at " + (at + buf.position()) + ", before "
                + end);
          }
        }
        out.write(buf.array(), 0, buf.limit());
        at += buf.limit();
      }
    }

    /** Leaves the rebuild: if nobody else follows it, it stops at its next write. */
    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      try {
        channel.close();
      } finally {
        relay.leave();
      }
    }
  }
}
