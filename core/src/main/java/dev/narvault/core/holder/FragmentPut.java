package dev.narvault.core.holder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One fragment upload ({@code PUT}) over a socket of its own: the body goes from the pack or parity
 * file to the socket by the kernel ({@link FragmentBytes#writeTo}, {@code sendfile}), with no copy
 * through this process. Measured in {@code narvault bench migrate}, {@code java.net.http}'s
 * publisher cost about 1 CPU-millisecond per MiB on its own threads (a copy per 16 KiB buffer, a
 * selector hand-off per write). Plain {@code http} holders only; {@code https} goes through the
 * HTTP client.
 *
 * <p>The whole exchange, body included, has one deadline: a holder that stops reading is cut off
 * when it passes (the socket is closed under the blocked write). A holder that answers before it
 * has read the body (a refused order, no room) and closes is heard: its answer is read after the
 * failed write.
 */
final class FragmentPut {
  /** Closes sockets whose exchange outlived its deadline; a cancelled deadline leaves the queue at once. */
  private static final ScheduledThreadPoolExecutor DEADLINES = deadlines();
  private static final int MAX_HEAD = 16 * 1024;

  private FragmentPut() {}

  private static ScheduledThreadPoolExecutor deadlines() {
    ScheduledThreadPoolExecutor e = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "fragment-put-deadlines");
      t.setDaemon(true);
      return t;
    });
    e.setRemoveOnCancelPolicy(true);
    return e;
  }

  /** What the holder answered: its status and (at most {@code maxAnswer} bytes of) its text. */
  record Answer(int status, String text) {}

  /** The exchange did not end within its deadline. */
  static final class DeadlineException extends IOException {
    DeadlineException(String message) {
      super(message);
    }
  }

  /**
   * {@code PUT uri} with {@code headers} and {@code body}, answered within {@code deadlineMillis}.
   *
   * @throws IOException when the holder cannot be reached, stops reading or answering in time, or
   *     answers something that is not HTTP
   */
  static Answer put(URI uri, Map<String, String> headers, FragmentBytes body, long connectMillis,
      long deadlineMillis, int maxAnswer) throws IOException {
    if (!"http".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("only http:// holders take raw uploads, not " + uri);
    }
    String head = head(uri, headers, body.size());
    SocketChannel channel = SocketChannel.open();
    AtomicBoolean expired = new AtomicBoolean();
    ScheduledFuture<?> deadline = DEADLINES.schedule(() -> {
      expired.set(true);
      closeQuietly(channel);
    }, deadlineMillis, TimeUnit.MILLISECONDS);
    try {
      channel.socket().setTcpNoDelay(true);
      int port = uri.getPort() >= 0 ? uri.getPort() : 80;
      channel.socket().connect(new InetSocketAddress(uri.getHost(), port),
          (int) Math.max(1, Math.min(connectMillis, deadlineMillis)));
      IOException writeFailed = null;
      try {
        writeFully(channel, ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)));
        body.writeTo(channel);
      } catch (FragmentBytes.SourceException e) {
        if (expired.get() || Thread.currentThread().isInterrupted()) {
          // The file was closed under the interrupted thread (or the socket at the deadline).
          throw new IOException(e.getCause());
        }
        // This side's trouble: the holder is waiting for the rest of the body, not answering.
        throw e;
      } catch (IOException e) {
        if (expired.get() || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        // The holder may have answered and closed before taking the body: its answer says why.
        writeFailed = e;
      }
      try {
        return readAnswer(channel, maxAnswer);
      } catch (IOException e) {
        if (writeFailed != null) {
          writeFailed.addSuppressed(e);
          throw writeFailed;
        }
        throw e;
      }
    } catch (FragmentBytes.SourceException e) {
      throw e;
    } catch (IOException e) {
      if (expired.get()) {
        DeadlineException late = new DeadlineException("no answer within " + deadlineMillis + " ms");
        late.initCause(e);
        throw late;
      }
      if (Thread.currentThread().isInterrupted() || e instanceof AsynchronousCloseException) {
        throw new InterruptedIOException("interrupted uploading to " + uri.getHost() + ":" + uri.getPort());
      }
      throw e;
    } finally {
      deadline.cancel(false);
      closeQuietly(channel);
    }
  }

  private static String head(URI uri, Map<String, String> headers, long length) {
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    String target = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    String host = uri.getPort() >= 0 ? uri.getHost() + ":" + uri.getPort() : uri.getHost();
    StringBuilder b = new StringBuilder(512).append("PUT ").append(target).append(" HTTP/1.1\r\nHost: ").append(host)
        .append("\r\nContent-Length: ").append(length).append("\r\nConnection: close\r\nUser-Agent: narvault\r\n");
    headers.forEach((name, value) -> {
      if (!name.matches("[A-Za-z0-9-]+") || value.chars().anyMatch(ch -> ch < 0x20 || ch > 0x7e)) {
        throw new IllegalArgumentException("not a header one line long: '" + name + ": " + value + "'");
      }
      b.append(name).append(": ").append(value).append("\r\n");
    });
    return b.append("\r\n").toString();
  }

  static void writeFully(SocketChannel channel, ByteBuffer bytes) throws IOException {
    while (bytes.hasRemaining()) {
      channel.write(bytes);
    }
  }

  /** The status line, the headers (only Content-Length matters) and at most {@code maxAnswer} bytes of body. */
  private static Answer readAnswer(SocketChannel channel, int maxAnswer) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(8 * 1024);
    ByteArrayOutputStream headBytes = new ByteArrayOutputStream(256);
    int status = -1;
    long contentLength = -1;
    boolean chunked = false;
    StringBuilder line = new StringBuilder();
    buf.flip();
    while (true) {
      if (!buf.hasRemaining()) {
        buf.clear();
        if (channel.read(buf) < 0) {
          throw new IOException(status < 0 ? "closed the connection without an answer"
              : "closed the connection in the middle of its answer's head");
        }
        buf.flip();
        continue;
      }
      char c = (char) (buf.get() & 0xff);
      headBytes.write(c);
      if (headBytes.size() > MAX_HEAD) {
        throw new IOException("sent an answer head over " + MAX_HEAD + " bytes");
      }
      if (c == '\r') {
        continue;
      }
      if (c != '\n') {
        line.append(c);
        continue;
      }
      String text = line.toString();
      line.setLength(0);
      if (status < 0) {
        if (!text.startsWith("HTTP/1.") || text.length() < 12 || text.charAt(8) != ' ') {
          throw new IOException("sent a malformed status line");
        }
        try {
          status = Integer.parseInt(text.substring(9, 12));
        } catch (NumberFormatException e) {
          throw new IOException("sent a malformed status line", e);
        }
        continue;
      }
      if (text.isEmpty()) {
        if (status >= 100 && status < 200) {
          // An interim answer (100 Continue, say): the final one follows.
          status = -1;
          contentLength = -1;
          chunked = false;
          continue;
        }
        break;
      }
      int colon = text.indexOf(':');
      if (colon > 0 && text.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals("transfer-encoding")) {
        chunked = true;
      }
      if (colon > 0 && text.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals("content-length")) {
        try {
          contentLength = Long.parseLong(text.substring(colon + 1).strip());
        } catch (NumberFormatException e) {
          throw new IOException("sent a bad Content-Length", e);
        }
      }
    }
    if ((chunked || contentLength < 0) && status >= 200 && status < 300) {
      // A success says all in its status; a body framed otherwise is not waited for.
      return new Answer(status, "");
    }
    // The body: as much as was announced (or, with none announced, until the holder closes), kept
    // up to maxAnswer (a chunked error text is kept as it came, framing and all).
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    long remaining = contentLength < 0 ? Long.MAX_VALUE : contentLength;
    while (remaining > 0) {
      if (!buf.hasRemaining()) {
        buf.clear();
        if (channel.read(buf) < 0) {
          if (contentLength < 0) {
            break;
          }
          throw new IOException("closed the connection after " + body.size() + " of " + contentLength
              + " bytes of its answer");
        }
        buf.flip();
      }
      int n = (int) Math.min(buf.remaining(), remaining);
      int keep = Math.min(n, maxAnswer - body.size());
      body.write(buf.array(), buf.position(), keep);
      if (keep < n) {
        throw new IOException("sent an answer over " + maxAnswer + " bytes");
      }
      buf.position(buf.position() + n);
      remaining -= n;
    }
    return new Answer(status, body.toString(StandardCharsets.UTF_8));
  }

  private static void closeQuietly(SocketChannel channel) {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing: nothing to do
    }
  }
}
