package dev.narvault.repair;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A volunteer's reverse proxy on loopback in front of a holder: it passes every connection's
 * bytes through to the holder, or, while its backend is "down", answers every request
 * {@code 502 Bad Gateway} (reading the request first, so the client sees the answer and not a
 * reset). Switching closes the connections open through it, as a restarting proxy would.
 */
final class ReverseProxy implements AutoCloseable {
  private static final int MAX_HEAD = 64 * 1024;

  private final ServerSocket server;
  private final InetSocketAddress backend;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile boolean badGateway;
  private volatile boolean hang;
  /** Requests answered 502 so far. */
  final AtomicInteger badGatewayAnswers = new AtomicInteger();
  /** Connections held unanswered now (see {@link #hang}). */
  final AtomicInteger hanging = new AtomicInteger();

  private ReverseProxy(ServerSocket server, InetSocketAddress backend) {
    this.server = server;
    this.backend = backend;
    this.acceptor = Thread.ofVirtual().name("proxy-accept").start(this::accept);
  }

  /** Listens on {@code bind} (a free port) in front of the holder at {@code backend}. */
  static ReverseProxy start(InetAddress bind, InetSocketAddress backend) throws IOException {
    return new ReverseProxy(new ServerSocket(0, 50, bind), backend);
  }

  URI endpoint() {
    return URI.create("http://" + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
  }

  /** From now on every request is answered 502 (true), or passed through again (false). */
  void answerBadGateway(boolean down) {
    badGateway = down;
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  /**
   * From now on every connection is accepted and left unanswered, as a vanished machine's are
   * behind a firewall that drops its packets (true): a request on a connection kept alive from
   * before hangs too. Ending it (false) closes every connection open through it.
   */
  void hang(boolean on) {
    hang = on;
    if (!on) {
      for (Socket s : open) {
        closeQuietly(s);
      }
    }
  }

  /** Holds a client's connection unanswered, reading what it sends, until it or {@link #hang} closes it. */
  private void hold(Socket client) throws IOException {
    hanging.incrementAndGet();
    try {
      client.getInputStream().transferTo(OutputStream.nullOutputStream());
    } finally {
      hanging.decrementAndGet();
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      open.add(client);
      Thread.ofVirtual().name("proxy-connection").start(() -> {
        try (client) {
          if (hang) {
            hold(client);
          } else if (badGateway) {
            answer502(client);
          } else {
            forward(client);
          }
        } catch (IOException e) {
          // the client or the holder went away, or a switch closed the connection: nothing to do
        } finally {
          open.remove(client);
        }
      });
    }
  }

  private void forward(Socket client) throws IOException {
    try (Socket holder = new Socket(backend.getAddress(), backend.getPort())) {
      open.add(holder);
      Thread back = Thread.ofVirtual().name("proxy-back").start(() -> pipe(holder, client));
      requests(client, holder);
      try {
        back.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        open.remove(holder);
      }
    }
  }

  /** Passes the client's bytes to the holder while not hanging; from the moment it hangs, holds them. */
  private void requests(Socket client, Socket holder) {
    try {
      byte[] buffer = new byte[8192];
      InputStream in = client.getInputStream();
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (hang) {
          hold(client);
          return;
        }
        holder.getOutputStream().write(buffer, 0, n);
      }
      holder.shutdownOutput();
    } catch (IOException e) {
      closeQuietly(client);
      closeQuietly(holder);
    }
  }

  private static void pipe(Socket from, Socket to) {
    try {
      from.getInputStream().transferTo(to.getOutputStream());
      to.shutdownOutput();
    } catch (IOException e) {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  /** Reads one request (head and Content-Length body) and answers 502, closing the connection. */
  private void answer502(Socket client) throws IOException {
    InputStream in = client.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4 && head.size() < MAX_HEAD) {
      int b = in.read();
      if (b < 0) {
        return;
      }
      head.write(b);
      matched = b == "\r\n\r\n".charAt(matched) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    long bodyLength = 0;
    for (String line : head.toString(StandardCharsets.ISO_8859_1).split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        bodyLength = Long.parseLong(line.substring("content-length:".length()).strip());
      }
    }
    in.skipNBytes(bodyLength);
    byte[] body = "502 Bad Gateway: the holder behind this proxy is down\n".getBytes(StandardCharsets.US_ASCII);
    OutputStream out = client.getOutputStream();
    out.write(("HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(body);
    out.flush();
    badGatewayAnswers.incrementAndGet();
    client.shutdownOutput();
    // Wait for the client to close first, so no unread byte turns our close into a reset.
    in.transferTo(OutputStream.nullOutputStream());
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    answerBadGateway(badGateway);
    try {
      acceptor.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
