package dev.narvault.core.nix;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import org.tukaani.xz.MemoryLimitException;

/**
 * Decodes a {@code .xz} file through the system's liblzma ({@link Liblzma}), as
 * {@link org.tukaani.xz.XZInputStream} does in Java and about 1.5 times as fast.
 *
 * <p>It behaves as xz-java's stream does wherever a reader can tell: concatenated streams and
 * stream padding are decoded ({@code LZMA_CONCATENATED}), every integrity check is verified and
 * an unsupported one is an error ({@code LZMA_TELL_UNSUPPORTED_CHECK}), trailing garbage is
 * corrupt data, a stream needing more than the memory limit is xz-java's
 * {@link MemoryLimitException}, truncated input an {@link EOFException}, other bad input an
 * {@link IOException}; a failure is thrown again by every later read, and {@link #close()}
 * closes the wrapped stream. Exceptions of the wrapped stream pass unchanged. One known
 * difference: liblzma before 5.6 lacks the RISC-V branch filter xz-java 1.12 has, and rejects a
 * stream that uses it (Nix writes LZMA2 alone).
 *
 * <p>The native state (liblzma's decoder with its dictionary, the {@code lzma_stream} and two
 * 64 KiB buffers) lives in a confined arena: the stream must be used and closed by the thread
 * that opened it, and closed (try-with-resources) — nothing frees it otherwise. It is freed
 * early when the end of the input or a failure is reached.
 */
final class LiblzmaInputStream extends InputStream {
  private static final int BUFFER = 64 * 1024;
  private static final int FLAGS = Liblzma.CONCATENATED | Liblzma.TELL_UNSUPPORTED_CHECK;

  private InputStream in;
  private final int memoryLimitKiB;
  private final byte[] input = new byte[BUFFER];
  private final byte[] one = new byte[1];
  /** Null once the native state is freed (end reached, failed or closed). */
  private Arena arena;
  private final MemorySegment strm;
  private final MemorySegment nativeInput;
  private final MemorySegment nativeOutput;
  private boolean inputEnded;
  private boolean endReached;
  private IOException failure;

  /** Starts decoding {@code in}, whose bytes are read in chunks of up to 64 KiB as needed. */
  LiblzmaInputStream(InputStream in, int memoryLimitKiB) throws IOException {
    if (memoryLimitKiB <= 0) {
      throw new IllegalArgumentException("memory limit must be positive: " + memoryLimitKiB + " KiB");
    }
    this.in = Objects.requireNonNull(in, "in");
    this.memoryLimitKiB = memoryLimitKiB;
    arena = Arena.ofConfined();
    try {
      strm = arena.allocate(Liblzma.STREAM);
      nativeInput = arena.allocate(BUFFER);
      nativeOutput = arena.allocate(BUFFER);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
    int ret;
    try {
      ret = Liblzma.streamDecoder(strm, memoryLimitKiB * 1024L, FLAGS);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
    if (ret != Liblzma.OK) {
      release();
      if (ret == Liblzma.MEM_ERROR) {
        throw new OutOfMemoryError("liblzma could not allocate an xz decoder");
      }
      throw new IllegalStateException("lzma_stream_decoder returned " + ret);
    }
  }

  @Override
  public int read() throws IOException {
    int n = read(one, 0, 1);
    return n == -1 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (in == null) {
      throw new IOException("Stream closed");
    }
    if (failure != null) {
      throw failure;
    }
    if (len == 0) {
      return 0;
    }
    if (endReached) {
      return -1;
    }
    try {
      return decode(b, off, len);
    } catch (IOException e) {
      failure = e;
      release();
      throw e;
    } catch (RuntimeException | Error e) {
      release();
      throw e;
    }
  }

  /**
   * Runs lzma_code until it writes at least one byte or ends, feeding input as it asks for it.
   * It cannot spin: liblzma returns LZMA_BUF_ERROR on the second call in a row that makes no
   * progress, which only happens once the input has ended (else there is input to feed).
   * Once all input is consumed liblzma calls a stream that ends inside stream padding corrupt
   * (LZMA_DATA_ERROR), xz-java truncated: it is reported as truncated, as xz-java does.
   */
  private int decode(byte[] b, int off, int len) throws IOException {
    long want = Math.min(len, BUFFER);
    strm.set(ADDRESS, Liblzma.NEXT_OUT, nativeOutput);
    strm.set(JAVA_LONG, Liblzma.AVAIL_OUT, want);
    while (true) {
      if (!inputEnded && strm.get(JAVA_LONG, Liblzma.AVAIL_IN) == 0) {
        fill();
      }
      int ret = Liblzma.code(strm, inputEnded ? Liblzma.FINISH : Liblzma.RUN);
      int produced = (int) (want - strm.get(JAVA_LONG, Liblzma.AVAIL_OUT));
      MemorySegment.copy(nativeOutput, JAVA_BYTE, 0, b, off, produced);
      if (ret == Liblzma.STREAM_END) {
        endReached = true;
        release();
        return produced > 0 ? produced : -1;
      }
      if (ret != Liblzma.OK) {
        throw failure(ret == Liblzma.DATA_ERROR && inputEnded ? Liblzma.BUF_ERROR : ret);
      }
      if (produced > 0) {
        return produced;
      }
    }
  }

  /** Reads the next chunk of the wrapped stream into liblzma's input, or notes its end. */
  private void fill() throws IOException {
    int n;
    do {
      n = in.read(input, 0, input.length);
    } while (n == 0);
    if (n < 0) {
      inputEnded = true;
      return;
    }
    MemorySegment.copy(input, 0, nativeInput, JAVA_BYTE, 0, n);
    strm.set(ADDRESS, Liblzma.NEXT_IN, nativeInput);
    strm.set(JAVA_LONG, Liblzma.AVAIL_IN, n);
  }

  private IOException failure(int ret) {
    return switch (ret) {
      case Liblzma.MEMLIMIT_ERROR -> new MemoryLimitException(
          (int) Math.min(Integer.MAX_VALUE, (Liblzma.memusage(strm) + 1023) / 1024), memoryLimitKiB);
      case Liblzma.BUF_ERROR -> new EOFException("xz input is truncated");
      case Liblzma.FORMAT_ERROR -> new IOException("input is not in the .xz format");
      case Liblzma.DATA_ERROR -> new IOException("xz data is corrupt");
      case Liblzma.UNSUPPORTED_CHECK -> new IOException("xz integrity check type is not supported");
      case Liblzma.OPTIONS_ERROR -> new IOException("xz stream uses options liblzma does not support");
      case Liblzma.MEM_ERROR -> throw new OutOfMemoryError("liblzma could not allocate memory to decode xz");
      default -> throw new IllegalStateException("lzma_code returned " + ret);
    };
  }

  /** Frees liblzma's decoder and the arena; the stream then only answers from its state. */
  private void release() {
    if (arena != null) {
      try {
        Liblzma.end(strm);
      } finally {
        arena.close();
        arena = null;
      }
    }
  }

  @Override
  public void close() throws IOException {
    if (in != null) {
      try {
        release();
        in.close();
      } finally {
        in = null;
      }
    }
  }
}
