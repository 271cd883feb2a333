package dev.narvault.core.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The guards every server shares, against hostile clients on real sockets: pipelined requests
 * answered in order, oversized lines and headers refused with the right status, slow and idle
 * clients closed, connection limits per address.
 */
class HttpGuardsTest {
  private final ExecutorService work = Executors.newVirtualThreadPerTaskExecutor();
  private NettyServer server;

  /** Answers {@code /sleep/N} after N ms on another thread (like the servers' blocking work). */
  private static final class Echo extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final ExecutorService work;

    Echo(ExecutorService work) {
      this.work = work;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      String uri = request.uri();
      work.execute(() -> {
        if (uri.startsWith("/sleep/")) {
          try {
            Thread.sleep(Long.parseLong(uri.substring(7)));
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
            Unpooled.copiedBuffer("answer to " + uri + ";", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
        ctx.writeAndFlush(r);
      });
    }
  }

  private InetSocketAddress start(ServerLimits limits) throws IOException {
    server = NettyServer.start(new InetSocketAddress("127.0.0.1", 0), limits, ch -> {
      HttpGuards.install(ch.pipeline(), limits);
      ch.pipeline().addLast(new HttpObjectAggregator(1 << 16));
      ch.pipeline().addLast(new Echo(work));
    }, () -> {});
    return server.address();
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
    work.shutdownNow();
  }

  private static Socket connect(InetSocketAddress address) throws IOException {
    Socket s = new Socket(address.getAddress(), address.getPort());
    s.setSoTimeout(5000);
    return s;
  }

  /** Everything the server sends until it closes or is silent for {@code quietMillis}. */
  private static String readAll(Socket s, int quietMillis) throws IOException {
    s.setSoTimeout(quietMillis);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = s.getInputStream();
    byte[] buf = new byte[8192];
    try {
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      // quiet: what came is all
    } catch (IOException e) {
      // reset by the server after it closed: what came is all
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  private static boolean closedByServer(Socket s, int withinMillis) throws IOException {
    s.setSoTimeout(withinMillis);
    try {
      InputStream in = s.getInputStream();
      while (in.read() >= 0) {
        // drain what came before the close
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private static List<String> bodies(String responses) {
    List<String> found = new ArrayList<>();
    Matcher m = Pattern.compile("answer to ([^;]+);").matcher(responses);
    while (m.find()) {
      found.add(m.group(1));
    }
    return found;
  }

  @Test
  void pipelinedRequests_areAnsweredInTheOrderSent() throws Exception {
    InetSocketAddress address = start(ServerLimits.defaults());
    try (Socket s = connect(address)) {
      OutputStream out = s.getOutputStream();
      // One write: the codec decodes all of them from one read. The first takes longest.
      out.write(("GET /sleep/400 HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /sleep/0 HTTP/1.1\r\nHost: x\r\n\r\n"
          + "GET /sleep/150 HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertEquals(List.of("/sleep/400", "/sleep/0", "/sleep/150", "/fast"), bodies(readAll(s, 1500)));
    }
  }

  @Test
  void tooManyPipelinedRequests_closeTheConnection() throws Exception {
    InetSocketAddress address = start(ServerLimits.defaults());
    try (Socket s = connect(address)) {
      StringBuilder many = new StringBuilder("GET /sleep/500 HTTP/1.1\r\nHost: x\r\n\r\n");
      for (int i = 0; i < 40; i++) {
        many.append("GET /n").append(i).append(" HTTP/1.1\r\nHost: x\r\n\r\n");
      }
      s.getOutputStream().write(many.toString().getBytes(StandardCharsets.US_ASCII));
      String got = readAll(s, 2000);
      assertTrue(bodies(got).size() < 41, "the connection was closed before answering all 41: " + bodies(got));
    }
  }

  @Test
  void oversizedRequestLineAndHeaders_get414And431_andTheConnectionCloses() throws Exception {
    InetSocketAddress address = start(ServerLimits.defaults());
    try (Socket s = connect(address)) {
      s.getOutputStream().write(("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String got = readAll(s, 2000);
      assertTrue(got.startsWith("HTTP/1.1 414"), got);
    }
    try (Socket s = connect(address)) {
      s.getOutputStream().write(("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(40_000) + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String got = readAll(s, 2000);
      assertTrue(got.startsWith("HTTP/1.1 431"), got);
      assertTrue(closedByServer(s, 2000));
    }
    try (Socket s = connect(address)) {
      s.getOutputStream().write("NOT HTTP AT ALL\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertTrue(readAll(s, 2000).startsWith("HTTP/1.1 400"));
    }
  }

  @Test
  void slowHeaders_andIdleConnections_areClosed() throws Exception {
    InetSocketAddress address = start(ServerLimits.defaults().withTimeouts(Duration.ofMillis(600),
        Duration.ofMillis(900)));
    try (Socket s = connect(address)) {
      // Slowloris: a header line every 200 ms, never finishing; each byte resets an idle timer,
      // but the whole request must be there within the header timeout.
      OutputStream out = s.getOutputStream();
      out.write("GET /x HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
      boolean closed = false;
      for (int i = 0; i < 15 && !closed; i++) {
        Thread.sleep(200);
        try {
          out.write(("X-" + i + ": y\r\n").getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } catch (IOException e) {
          closed = true;
        }
      }
      assertTrue(closed || closedByServer(s, 1000), "a request dripped for 3 s is cut off");
    }
    try (Socket s = connect(address)) {
      s.getOutputStream().write("GET /x HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertTrue(readAll(s, 300).contains("answer to /x"));
      // Then silence: the idle keep-alive connection is closed.
      assertTrue(closedByServer(s, 3000));
    }
  }

  @Test
  void connectionsPerAddress_areLimited() throws Exception {
    InetSocketAddress address = start(ServerLimits.defaults().withConnections(100, 3));
    List<Socket> open = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        open.add(connect(address));
      }
      // Accepted connections are set up on two I/O threads: let the first three settle.
      Thread.sleep(300);
      try (Socket fourth = connect(address)) {
        assertTrue(closedByServer(fourth, 2000), "a fourth connection from one address is closed at once");
      }
      // The first three still work.
      open.getFirst().getOutputStream().write("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertTrue(readAll(open.getFirst(), 500).contains("answer to /ok"));
      open.removeLast().close();
      Thread.sleep(200);
      try (Socket again = connect(address)) {
        again.getOutputStream().write("GET /again HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(readAll(again, 500).contains("answer to /again"), "a closed connection frees its place");
      }
    } finally {
      for (Socket s : open) {
        s.close();
      }
    }
  }
}
