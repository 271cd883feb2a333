package dev.narvault.core.holder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** For fake holders in tests that speak HTTP/1.1 on raw sockets. */
public final class RawHttp {
  private RawHttp() {}

  /**
   * A request head read byte by byte up to and including its blank line, or what came before the
   * connection ended (then without the final {@code \r\n\r\n}).
   */
  public static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0;
    while (state < 4) {
      int b = in.read();
      if (b < 0) {
        break;
      }
      head.write(b);
      state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  /** What a fake server does with one connection, its head already read. */
  @FunctionalInterface
  public interface Exchange {
    void answer(String head, InputStream in, OutputStream out) throws Exception;
  }

  /**
   * A loopback server answering each connection on a virtual thread of its own with {@code
   * exchange}, until the socket returned is closed. A client that gives up is no failure.
   */
  public static ServerSocket serve(Exchange exchange) throws IOException {
    ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try {
          Socket s = server.accept();
          Thread.ofVirtual().start(() -> {
            try (s) {
              InputStream in = s.getInputStream();
              exchange.answer(readHead(in), in, s.getOutputStream());
            } catch (Exception e) {
              // the client gave up, or the test's exchange ended it
            }
          });
        } catch (IOException e) {
          return;
        }
      }
    });
    return server;
  }
}
