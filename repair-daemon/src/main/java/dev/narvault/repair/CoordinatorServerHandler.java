package dev.narvault.repair;

import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.http.BlockingWork;
import dev.narvault.core.json.JsonCodec;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's API, one whole request at a time: routes each to membership, placement or
 * metrics on a virtual thread (they touch the catalog) and maps {@link MembershipException} to its
 * status and catalog failures to 503, in one place.
 */
final class CoordinatorServerHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorServerHandler.class);

  private final CoordinatorServer.Routes routes;
  private final ExecutorService requests;

  CoordinatorServerHandler(CoordinatorServer.Routes routes, ExecutorService requests) {
    this.routes = routes;
    this.requests = requests;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    String path = request.uri();
    byte[] body = ByteBufUtil.getBytes(request.content());
    String signature = request.headers().get(SignedMessages.HEADER);
    String method = request.method().name();
    String seen = ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a.getAddress().getHostAddress() : "";
    BlockingWork.offload(ctx, requests, () -> {
      try {
        Membership membership = routes.membership();
        switch (method + " " + path) {
          case "POST /v1/register" -> {
            Membership.Registered r = membership.register(body, signature, seen);
            respond(ctx, 200, "ok " + r.holderId() + " endpoint proven at " + r.provenAddress()
                + "; registration came from " + r.sourceAddress());
          }
          // The address this connection comes from: what a holder bound to a wildcard address
          // advertises (the coordinator then proves it there, like any endpoint).
          case "GET /v1/address" -> respond(ctx, 200, seen);
          case "GET /v1/policy" -> respond(ctx, 200, "application/json", routes.placements().policy());
          case "POST /v1/heartbeat" -> {
            // The answer is the holder's standing: what a volunteer needs to know to keep it useful.
            Membership.Beat beat = membership.heartbeat(body, signature);
            respond(ctx, 200, "application/json",
                JsonCodec.toJson(routes.standings().of(beat.holderId(), beat.clockSkewMillis())));
          }
          case "POST /v1/scrub-report" -> respond(ctx, 200, "ok " + membership.scrubReport(body, signature));
          case "POST /v1/exit" -> respond(ctx, 200, "exiting; fragments still to move: "
              + membership.exit(body, signature));
          case "POST /v1/away" -> {
            // Answered with the standing, which shows the absence recorded and the away time left.
            Membership.Away away = membership.away(body, signature, routes.standings().rules());
            respond(ctx, 200, "application/json",
                JsonCodec.toJson(routes.standings().of(away.holderId(), away.clockSkewMillis())));
          }
          case "POST /v1/placements" -> respond(ctx, 200, "application/json", routes.placements().handle(body, signature));
          case "GET /v1/holders" -> respond(ctx, 200, "application/json", membership.holders());
          case "GET /metrics" -> respond(ctx, 200, "text/plain; version=0.0.4",
              routes.metrics().render().getBytes(StandardCharsets.UTF_8));
          default -> throw new MembershipException(404, "unknown endpoint " + method + " " + path);
        }
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
    respond(ctx, status, "text/plain; charset=utf-8", (text + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static void respond(ChannelHandlerContext ctx, int status, String type, byte[] body) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
        Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
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
