package dev.narvault.repair;

import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.http.BlockingWork;
import dev.narvault.core.http.NettyServer;
import io.netty.buffer.ByteBufUtil;
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
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's HTTP API for holders: register, heartbeat, scrub reports. Requests are small
 * and touch the catalog, so each runs on a virtual thread.
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorServer.class);
  private static final int MAX_BODY = 16 * 1024;

  private final NettyServer server;

  private CoordinatorServer(NettyServer server) {
    this.server = server;
  }

  public static CoordinatorServer start(InetSocketAddress bind, Membership membership) throws IOException {
    ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    NettyServer server = NettyServer.start(bind, ch -> pipeline(ch, membership, requests), requests::shutdownNow);
    LOG.info("coordinator listening on {}", server.endpoint());
    return new CoordinatorServer(server);
  }

  /** The pipeline, in order: HTTP codec, whole small requests, the API. */
  private static void pipeline(SocketChannel ch, Membership membership, ExecutorService requests) {
    ch.pipeline().addLast("http", new HttpServerCodec());
    ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_BODY));
    ch.pipeline().addLast("api", new Handler(membership, requests));
  }

  public URI endpoint() {
    return server.endpoint();
  }

  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  @Override
  public void close() {
    server.close();
  }

  private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private final Membership membership;
    private final ExecutorService requests;

    Handler(Membership membership, ExecutorService requests) {
      this.membership = membership;
      this.requests = requests;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      String path = request.uri();
      byte[] body = ByteBufUtil.getBytes(request.content());
      String signature = request.headers().get(SignedMessages.HEADER);
      boolean post = request.method().equals(HttpMethod.POST);
      String method = request.method().name();
      BlockingWork.offload(ctx, requests, () -> {
        try {
          String holderId = switch (post ? path : "") {
            case "/v1/register" -> membership.register(body, signature);
            case "/v1/heartbeat" -> membership.heartbeat(body, signature);
            case "/v1/scrub-report" -> membership.scrubReport(body, signature);
            default -> throw new MembershipException(404, "unknown endpoint " + method + " " + path);
          };
          respond(ctx, 200, "ok " + holderId);
        } catch (MembershipException e) {
          LOG.warn("{} {}: refused: {}", ctx.channel().remoteAddress(), path, e.getMessage());
          respond(ctx, e.status(), e.getMessage());
        } catch (CatalogException e) {
          LOG.error("{}: catalog failure: {}", path, e.getMessage());
          respond(ctx, 503, "catalog unavailable");
        }
      }, () -> { });
    }

    private static void respond(ChannelHandlerContext ctx, int status, String text) {
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
          Unpooled.copiedBuffer(text + "\n", StandardCharsets.UTF_8));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
      HttpUtil.setContentLength(r, r.content().readableBytes());
      // After a refusal the connection is closed, and the client told so it does not reuse it.
      boolean keepAlive = status == 200;
      HttpUtil.setKeepAlive(r, keepAlive);
      ctx.writeAndFlush(r).addListener(keepAlive ? ChannelFutureListener.CLOSE_ON_FAILURE : ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
      ctx.close();
    }
  }
}
