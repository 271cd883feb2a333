package dev.narvault.core.holder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * Ranged {@code GET}s of fragment bytes over blocking sockets kept alive per holder: the one call
 * on a gateway's hot path. A response body goes from the socket straight into the caller's array,
 * with no thread hand-off and no intermediate buffers; measured on loopback, a gateway read this
 * way ran 1.5–1.9× faster than through {@code java.net.http.HttpClient} (a selector thread, flow
 * stages and a copy per buffer between the socket and the array). The other holder calls are rare
 * and stay on that client.
 *
 * <p>Meant for virtual threads: interrupting one blocked here closes its socket, so a cancelled
 * read stops at once. Every exchange has a deadline for the whole of it, checked after every read
 * from the socket, so a holder that trickles cannot stretch it; one that claims more than asked
 * fails before a byte of the body is read; only a response read to its end returns its connection
 * to the pool.
 */
final class RangeConnections {
  /** Idle connections kept per holder; more in flight at once are closed after use. */
  private static final int MAX_IDLE_PER_HOLDER = 16;
  /**
   * Idle connections kept in all: each holds an 8 KiB buffer and a socket, and a coordinator
   * visits 10^4 holders a round, each once (kept per holder without a bound, a round's idle
   * connections filled a 256 MiB heap: {@code bench coordinator}).
   */
  static final int MAX_IDLE_TOTAL = 512;
  /** Well under the holders' idle timeout (60 s), so a kept connection is rarely found closed. */
  private static final long MAX_IDLE_NANOS = Duration.ofSeconds(20).toNanos();
  /** How often idle connections past {@link #MAX_IDLE_NANOS} are looked for among every holder's. */
  private static final long SWEEP_NANOS = Duration.ofSeconds(1).toNanos();
  /** Status line and headers together. */
  private static final int MAX_HEAD = 16 * 1024;
  private static final int SOCKET_BUFFER = 64 * 1024;
  /**
   * What one read from the socket may take while the head is read: small, since body bytes that
   * come with the head are copied once more out of it (the rest of a body is read straight into
   * the caller's array).
   */
  private static final int HEAD_BUFFER = 8 * 1024;

  private final Duration connectTimeout;
  private final int maxIdleTotal;
  private final Map<String, ConcurrentLinkedDeque<Connection>> idle = new ConcurrentHashMap<>();
  /** Connections in {@link #idle}, all holders together. */
  private final java.util.concurrent.atomic.AtomicInteger idleCount = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong lastSweep = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());

  RangeConnections(Duration connectTimeout) {
    this(connectTimeout, MAX_IDLE_TOTAL);
  }

  RangeConnections(Duration connectTimeout, int maxIdleTotal) {
    this.connectTimeout = connectTimeout;
    this.maxIdleTotal = maxIdleTotal;
  }

  /**
   * An answer: a 206 with exactly the bytes asked for, or another status with at most
   * {@code maxError} bytes of its text.
   */
  record Answer(int status, byte[] body) {}

  /** A holder sent more than was asked for. */
  static final class TooLongException extends IOException {
    TooLongException(String message) {
      super(message);
    }
  }

  /**
   * {@code GET uri} with {@code Range: bytes=offset-(offset+length-1)} and {@code headers}, all of
   * it before {@code deadlineNanos} ({@link System#nanoTime}). A connection from the pool that
   * turns out to be closed is replaced once by a new one (a GET can be repeated).
   */
  Answer get(URI uri, long offset, int length, Map<String, String> headers, long deadlineNanos, int maxError)
      throws IOException {
    String head = head(uri, offset, length, headers);
    String key = key(uri);
    Connection pooled = takeIdle(key);
    if (pooled != null) {
      try {
        return exchange(pooled, uri, head, length, deadlineNanos, maxError);
      } catch (StaleConnectionException stale) {
        // The holder closed it while it sat in the pool: try a fresh one.
      }
    }
    Connection fresh = open(uri, key, deadlineNanos);
    try {
      return exchange(fresh, uri, head, length, deadlineNanos, maxError);
    } catch (StaleConnectionException e) {
      throw new IOException("holder " + uri.getHost() + ":" + uri.getPort() + " closed the connection", e);
    }
  }

  /** The request's head; a header name or value that could end a line is the caller's mistake. */
  private static String head(URI uri, long offset, int length, Map<String, String> headers) {
    StringBuilder b = new StringBuilder(256).append("GET ").append(target(uri)).append(" HTTP/1.1\r\nHost: ")
        .append(hostHeader(uri)).append("\r\nRange: bytes=").append(offset).append('-').append(offset + length - 1)
        .append("\r\nUser-Agent: narvault\r\n");
    headers.forEach((name, value) -> {
      if (!name.matches("[A-Za-z0-9-]+") || value.chars().anyMatch(ch -> ch < 0x20 || ch > 0x7e)) {
        throw new IllegalArgumentException("not a header one line long: '" + name + ": " + value + "'");
      }
      b.append(name).append(": ").append(value).append("\r\n");
    });
    return b.append("\r\n").toString();
  }

  private Answer exchange(Connection c, URI uri, String requestHead, int length, long deadlineNanos, int maxError)
      throws IOException {
    boolean keep = false;
    try {
      c.send(requestHead);
      Head head = c.readHead(deadlineNanos);
      byte[] body;
      if (head.status() == 206) {
        if (head.contentLength() < 0) {
          throw new IOException("answered 206 without a Content-Length");
        }
        if (head.contentLength() > length) {
          throw new TooLongException("sent more than the " + length + " bytes asked for");
        }
        body = c.readBody((int) head.contentLength(), deadlineNanos);
      } else if (head.contentLength() >= 0 && head.contentLength() <= maxError) {
        body = c.readBody((int) head.contentLength(), deadlineNanos);
      } else {
        // No length, or too long to bother: the status says enough; the connection is not reused.
        return new Answer(head.status(), new byte[0]);
      }
      keep = head.keepAlive();
      return new Answer(head.status(), body);
    } catch (SocketTimeoutException e) {
      throw new DeadlineException();
    } catch (IOException e) {
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted reading from holder " + hostHeader(uri));
      }
      throw e;
    } finally {
      if (keep) {
        putIdle(c);
      } else {
        c.close();
      }
    }
  }

  /** The exchange did not end within its deadline. */
  static final class DeadlineException extends IOException {
    DeadlineException() {
      super("deadline passed");
    }
  }

  /** A pooled connection the holder had closed: nothing of an answer came. */
  private static final class StaleConnectionException extends IOException {
    StaleConnectionException(String message) {
      super(message);
    }
  }

  private Connection takeIdle(String key) {
    ConcurrentLinkedDeque<Connection> q = idle.get(key);
    if (q == null) {
      return null;
    }
    long now = System.nanoTime();
    Connection c;
    while ((c = q.pollLast()) != null) {
      idleCount.decrementAndGet();
      if (now - c.idleSince <= MAX_IDLE_NANOS && !c.socket.isClosed()) {
        c.reused = true;
        return c;
      }
      c.close();
    }
    return null;
  }

  private void putIdle(Connection c) {
    long now = System.nanoTime();
    sweepIfDue(now);
    if (idleCount.get() >= maxIdleTotal) {
      c.close();
      return;
    }
    boolean[] kept = {false};
    // Added inside compute, so a sweep that drops this holder's empty queue cannot drop it too.
    idle.compute(c.key, (k, q) -> {
      ConcurrentLinkedDeque<Connection> queue = q == null ? new ConcurrentLinkedDeque<>() : q;
      if (queue.size() < MAX_IDLE_PER_HOLDER) {
        c.idleSince = now;
        queue.addLast(c);
        idleCount.incrementAndGet();
        kept[0] = true;
      }
      return queue;
    });
    if (!kept[0]) {
      c.close();
    }
  }

  /**
   * At most once a {@link #SWEEP_NANOS}: closes every holder's connections idle too long and
   * forgets holders with none, so neither sockets nor map entries pile up with holders visited once.
   */
  private void sweepIfDue(long now) {
    long last = lastSweep.get();
    if (now - last < SWEEP_NANOS || !lastSweep.compareAndSet(last, now)) {
      return;
    }
    for (String key : idle.keySet()) {
      idle.computeIfPresent(key, (k, q) -> {
        Connection oldest;
        // Oldest first: connections are added at the tail.
        while ((oldest = q.peekFirst()) != null && now - oldest.idleSince > MAX_IDLE_NANOS) {
          if (q.remove(oldest)) {
            idleCount.decrementAndGet();
            oldest.close();
          }
        }
        return q.isEmpty() ? null : q;
      });
    }
  }

  /** Idle connections kept now, all holders together (for tests). */
  int idleConnections() {
    return idleCount.get();
  }

  /** Closes every idle connection. */
  void closeIdle() {
    for (ConcurrentLinkedDeque<Connection> q : idle.values()) {
      Connection c;
      while ((c = q.poll()) != null) {
        idleCount.decrementAndGet();
        c.close();
      }
    }
  }

  private Connection open(URI uri, String key, long deadlineNanos) throws IOException {
    boolean tls = "https".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() >= 0 ? uri.getPort() : tls ? 443 : 80;
    String host = uri.getHost();
    Socket socket = new Socket();
    try {
      socket.setTcpNoDelay(true);
      socket.setReceiveBufferSize(SOCKET_BUFFER * 4);
      long connectMillis = Math.min(connectTimeout.toMillis(), remainingMillis(deadlineNanos));
      socket.connect(new InetSocketAddress(host, port), (int) Math.max(1, connectMillis));
      if (tls) {
        SSLSocket ssl = (SSLSocket) ((SSLSocketFactory) SSLSocketFactory.getDefault())
            .createSocket(socket, host, port, true);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        ssl.setSSLParameters(params);
        ssl.setSoTimeout((int) Math.max(1, remainingMillis(deadlineNanos)));
        ssl.startHandshake();
        socket = ssl;
      }
      return new Connection(key, socket);
    } catch (SocketTimeoutException e) {
      socket.close();
      throw new DeadlineException();
    } catch (IOException e) {
      socket.close();
      if (Thread.currentThread().isInterrupted()) {
        throw new InterruptedIOException("interrupted connecting to holder " + hostHeader(uri));
      }
      throw e;
    }
  }

  private static long remainingMillis(long deadlineNanos) {
    return Math.max(0, (deadlineNanos - System.nanoTime()) / 1_000_000);
  }

  private static String key(URI uri) {
    return uri.getScheme().toLowerCase(Locale.ROOT) + "://" + hostHeader(uri);
  }

  private static String hostHeader(URI uri) {
    return uri.getPort() >= 0 ? uri.getHost() + ":" + uri.getPort() : uri.getHost();
  }

  private static String target(URI uri) {
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    return uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
  }

  /** What matters of a response head. */
  private record Head(int status, long contentLength, boolean keepAlive) {}

  /**
   * One socket, its streams, and where it is in its life. The head is read byte by byte from a
   * buffer of its own, and the socket's timeout is set only before a read from the socket (not
   * for every byte of the head, which cost a lock and a call into the socket each).
   */
  private static final class Connection {
    final String key;
    final Socket socket;
    final InputStream in;
    final OutputStream out;
    /** Bytes read from the socket and not taken yet: {@code [pos, limit)}. */
    final byte[] buf = new byte[HEAD_BUFFER];
    int pos;
    int limit;
    boolean reused;
    long idleSince;

    Connection(String key, Socket socket) throws IOException {
      this.key = key;
      this.socket = socket;
      this.in = socket.getInputStream();
      this.out = socket.getOutputStream();
    }

    void send(String head) throws IOException {
      try {
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.flush();
      } catch (IOException e) {
        throw reused ? new StaleConnectionException(e.toString()) : e;
      }
    }

    Head readHead(long deadlineNanos) throws IOException {
      ByteArrayOutputStream line = new ByteArrayOutputStream(128);
      int total = 0;
      int status = -1;
      long contentLength = -1;
      boolean keepAlive = true;
      while (true) {
        line.reset();
        int b;
        while ((b = readByte(deadlineNanos, total == 0)) != '\n') {
          if (++total > MAX_HEAD) {
            throw new IOException("sent a response head over " + MAX_HEAD + " bytes");
          }
          if (b != '\r') {
            line.write(b);
          }
        }
        total++;
        String text = line.toString(StandardCharsets.ISO_8859_1);
        if (status < 0) {
          status = parseStatus(text);
          keepAlive = !text.startsWith("HTTP/1.0");
          continue;
        }
        if (text.isEmpty()) {
          return new Head(status, contentLength, keepAlive);
        }
        int colon = text.indexOf(':');
        if (colon <= 0) {
          throw new IOException("sent a malformed header line");
        }
        String name = text.substring(0, colon).strip().toLowerCase(Locale.ROOT);
        String value = text.substring(colon + 1).strip();
        switch (name) {
          case "content-length" -> {
            try {
              long parsed = Long.parseLong(value);
              if (parsed < 0 || (contentLength >= 0 && parsed != contentLength)) {
                throw new IOException("sent a bad Content-Length: " + value);
              }
              contentLength = parsed;
            } catch (NumberFormatException e) {
              throw new IOException("sent a bad Content-Length: " + value, e);
            }
          }
          case "connection" -> keepAlive &= !value.toLowerCase(Locale.ROOT).contains("close");
          // A body framed otherwise is not what a holder sends for a range: read nothing more.
          case "transfer-encoding" -> keepAlive = false;
          default -> {
            // not needed
          }
        }
      }
    }

    private static int parseStatus(String line) throws IOException {
      if (!line.startsWith("HTTP/1.") || line.length() < 12 || line.charAt(8) != ' ') {
        throw new IOException("sent a malformed status line");
      }
      try {
        return Integer.parseInt(line.substring(9, 12));
      } catch (NumberFormatException e) {
        throw new IOException("sent a malformed status line", e);
      }
    }

    /** One byte of the head; end of stream before the first byte of a reused connection is stale. */
    private int readByte(long deadlineNanos, boolean first) throws IOException {
      if (pos < limit) {
        return buf[pos++] & 0xff;
      }
      socket.setSoTimeout(timeoutMillis(deadlineNanos));
      int n;
      try {
        n = in.read(buf, 0, buf.length);
      } catch (SocketTimeoutException e) {
        throw e;
      } catch (IOException e) {
        throw reused && first ? new StaleConnectionException(e.toString()) : e;
      }
      if (n < 0) {
        throw reused && first ? new StaleConnectionException("closed") : new IOException("closed the connection mid-answer");
      }
      pos = 1;
      limit = n;
      return buf[0] & 0xff;
    }

    /** Exactly {@code length} body bytes, the deadline checked after every read. */
    byte[] readBody(int length, long deadlineNanos) throws IOException {
      byte[] body = new byte[length];
      int filled = Math.min(length, limit - pos);
      System.arraycopy(buf, pos, body, 0, filled);
      pos += filled;
      while (filled < length) {
        socket.setSoTimeout(timeoutMillis(deadlineNanos));
        int n = in.read(body, filled, length - filled);
        if (n < 0) {
          throw new ShortBodyException(filled, length);
        }
        filled += n;
        if (filled < length && System.nanoTime() - deadlineNanos > 0) {
          throw new DeadlineException();
        }
      }
      return body;
    }

    private static int timeoutMillis(long deadlineNanos) throws DeadlineException {
      long millis = (deadlineNanos - System.nanoTime()) / 1_000_000;
      if (millis <= 0) {
        throw new DeadlineException();
      }
      return (int) Math.min(Integer.MAX_VALUE, millis);
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing: nothing to do
      }
    }
  }

  /** The connection ended before the body did. */
  static final class ShortBodyException extends IOException {
    ShortBodyException(int received, int expected) {
      super("sent " + received + " of " + expected + " bytes");
    }
  }
}
