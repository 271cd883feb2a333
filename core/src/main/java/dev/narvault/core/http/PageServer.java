package dev.narvault.core.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one server-rendered page (a dashboard) on a port of its own, on loopback unless told
 * otherwise: {@code GET /} only, with the same guards as every server here. The page is rendered
 * per request off the event loop.
 */
public final class PageServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PageServer.class);
  /** Requests are bodiless GETs. */
  private static final int MAX_BODY = 1024;

  private final NettyServer server;

  private PageServer(NettyServer server) {
    this.server = server;
  }

  public static PageServer start(InetSocketAddress bind, Supplier<String> page) throws IOException {
    ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    NettyServer server = NettyServer.start(bind, ch -> pipeline(ch, page, requests), requests::shutdownNow);
    LOG.info("dashboard at {}", server.endpoint());
    return new PageServer(server);
  }

  /** The pipeline, in order: HTTP codec and guards, whole (small) requests, the page. */
  private static void pipeline(SocketChannel ch, Supplier<String> page, ExecutorService requests) {
    HttpGuards.install(ch.pipeline(), ServerLimits.defaults());
    ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_BODY));
    ch.pipeline().addLast("page", new Handler(page, requests));
  }

  public URI endpoint() {
    return server.endpoint();
  }

  @Override
  public void close() {
    server.close();
  }

  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Supplier<String> page;
    private final ExecutorService requests;

    Handler(Supplier<String> page, ExecutorService requests) {
      this.page = page;
      this.requests = requests;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      if (!request.method().equals(HttpMethod.GET)) {
        respond(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "GET only\n");
        return;
      }
      if (!request.uri().equals("/") && !request.uri().startsWith("/?")) {
        respond(ctx, HttpResponseStatus.NOT_FOUND, "text/plain; charset=utf-8", "the dashboard is at /\n");
        return;
      }
      // Reading the store's numbers may touch the disk: off the event loop.
      BlockingWork.offload(ctx, requests, () -> {
        try {
          respond(ctx, HttpResponseStatus.OK, "text/html; charset=utf-8", page.get());
        } catch (RuntimeException e) {
          LOG.warn("dashboard: {}", e.toString());
          respond(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", "cannot render now\n");
        }
      }, () -> { });
    }

    private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String type, String text) {
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
          Unpooled.wrappedBuffer(text.getBytes(StandardCharsets.UTF_8)));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
      HttpUtil.setContentLength(r, r.content().readableBytes());
      HttpUtil.setKeepAlive(r, false);
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.warn("dashboard {}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
