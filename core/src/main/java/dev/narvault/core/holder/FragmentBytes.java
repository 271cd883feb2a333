package dev.narvault.core.holder;

import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A fragment's bytes to upload, readable again for every try: a file of its own, or a slice of a
 * pack file (a data fragment is a contiguous piece of its pack, zero-padded at the pack's end), so
 * that data fragments need not be copied before they leave.
 */
public interface FragmentBytes {
  long size();

  /** A fresh stream over all {@link #size()} bytes; the caller closes it. */
  InputStream open() throws IOException;

  /**
   * Writes all {@link #size()} bytes to {@code out}. Bytes in a file go by {@link
   * FileChannel#transferTo} (the kernel's {@code sendfile} when {@code out} is a blocking socket).
   *
   * @throws SourceException when the bytes could not be read here (a file gone or shorter than it
   *     was): nothing the receiving end did
   */
  default void writeTo(WritableByteChannel out) throws IOException {
    InputStream in;
    try {
      in = open();
    } catch (IOException e) {
      throw new SourceException(e);
    }
    try (in) {
      byte[] buf = new byte[64 * 1024];
      long left = size();
      while (left > 0) {
        int n;
        try {
          n = in.read(buf, 0, (int) Math.min(buf.length, left));
        } catch (IOException e) {
          throw new SourceException(e);
        }
        if (n < 0) {
          throw new SourceException(new java.io.EOFException(left + " bytes of a fragment missing"));
        }
        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
        while (b.hasRemaining()) {
          out.write(b);
        }
        left -= n;
      }
    }
  }

  /** The fragment's bytes could not be read on this side (its file); the other end is not to blame. */
  final class SourceException extends IOException {
    public SourceException(IOException cause) {
      super("reading the fragment's bytes here failed: " + cause, cause);
    }
  }

  /** All of {@code file}, exactly as long as it is now: shorter later is an error, never padding. */
  static FragmentBytes of(Path file) throws IOException {
    return new Slice(file, 0, Files.size(file), false);
  }

  /**
   * {@code size} bytes: those of {@code file} from {@code offset} (as many as are there, at most
   * {@code size}), then zeros.
   */
  static FragmentBytes slice(Path file, long offset, long size) {
    if (offset < 0 || size < 0) {
      throw new IllegalArgumentException("offset and size must be >= 0, got " + offset + ", " + size);
    }
    return new Slice(file, offset, size, true);
  }

  /**
   * {@link #slice} and {@link #of}: read as a stream for an HTTP client, sent by the kernel
   * otherwise; with {@code padded}, bytes past the file's end are zeros, without, they are an error.
   */
  record Slice(Path file, long offset, long size, boolean padded) implements FragmentBytes {
    @Override
    public InputStream open() throws IOException {
      FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
      try {
        long present = present(channel);
        channel.position(Math.min(offset, channel.size()));
        InputStream data = new BoundedStream(Channels.newInputStream(channel), present);
        return new SequenceInputStream(data, new Zeros(size - present));
      } catch (IOException | RuntimeException e) {
        channel.close();
        throw e;
      }
    }

    @Override
    public void writeTo(WritableByteChannel out) throws IOException {
      FileChannel channel;
      long present;
      try {
        channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
          present = present(channel);
        } catch (IOException e) {
          channel.close();
          throw e;
        }
      } catch (IOException e) {
        throw new SourceException(e);
      }
      try (channel) {
        for (long sent = 0; sent < present; ) {
          long n = channel.transferTo(offset + sent, present - sent, out);
          if (n == 0) {
            // A target that took nothing (non-blocking underneath, as under a virtual thread):
            // one chunk through a buffer, whose write blocks or parks as it should, never a spin.
            n = copyThrough(channel, offset + sent, present - sent, out);
          }
          sent += n;
        }
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.clamp(size - present, 1, 64 * 1024));
        for (long left = size - present; left > 0; ) {
          zeros.clear().limit((int) Math.min(zeros.capacity(), left));
          while (zeros.hasRemaining()) {
            left -= out.write(zeros);
          }
        }
      }
    }

    private long copyThrough(FileChannel channel, long position, long count, WritableByteChannel out)
        throws IOException {
      ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(count, 64 * 1024));
      int read;
      try {
        read = channel.read(chunk, position);
      } catch (IOException e) {
        throw new SourceException(e);
      }
      if (read <= 0) {
        throw new SourceException(new java.io.EOFException(count + " bytes of a fragment missing: " + file + " "
            + "is shorter than it was"));
      }
      chunk.flip();
      while (chunk.hasRemaining()) {
        out.write(chunk);
      }
      return read;
    }

    /** The slice's bytes that are in the file; the rest of it is zeros (padded) or missing (an error). */
    private long present(FileChannel channel) throws IOException {
      long present = Math.max(0, Math.min(size, channel.size() - offset));
      if (!padded && present < size) {
        throw new java.io.EOFException(file + " has " + channel.size() + " bytes, " + (offset + size) + " expected");
      }
      return present;
    }
  }

  /** The first {@code limit} bytes of a stream; closes it. */
  final class BoundedStream extends InputStream {
    private final InputStream in;
    private long remaining;

    BoundedStream(InputStream in, long limit) {
      this.in = in;
      this.remaining = limit;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (remaining <= 0) {
        return -1;
      }
      int n = in.read(b, off, (int) Math.min(len, remaining));
      if (n < 0) {
        throw new java.io.EOFException(remaining + " bytes of a fragment slice missing: the pack file is shorter");
      }
      remaining -= n;
      return n;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /** {@code count} zero bytes. */
  final class Zeros extends InputStream {
    private long remaining;

    Zeros(long count) {
      this.remaining = count;
    }

    @Override
    public int read() {
      if (remaining <= 0) {
        return -1;
      }
      remaining--;
      return 0;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (remaining <= 0) {
        return -1;
      }
      int n = (int) Math.min(len, remaining);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      remaining -= n;
      return n;
    }
  }
}
