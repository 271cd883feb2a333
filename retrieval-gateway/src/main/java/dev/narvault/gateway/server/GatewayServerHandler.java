package dev.narvault.gateway.server;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.http.BlockingWork;
import dev.narvault.core.http.ByteRange;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.archive.Archive;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Nix asks and what it gets. Archived narinfos and NARs come from the catalog and the
 * holders; everything else, and archived NARs that cannot be rebuilt, from S3.
 *
 * <p>Never a 404 because a backend failed: Nix caches a 404 narinfo for an hour. Backend trouble
 * is a 503, which Nix retries. No byte reaches the client before it is verified.
 *
 * <p>Each request runs on a virtual thread, since it blocks on the catalog, holders and S3. The
 * connection stops reading while a request is in progress, so responses keep their order.
 */
final class GatewayServerHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServerHandler.class);
  private static final String NARINFO_TYPE = "text/x-nix-narinfo";
  private static final String NAR_TYPE = "application/x-nix-nar";

  private final Archive archive;
  private final ObjectSource fallback;
  private final GatewayConfig config;
  private final Executor requests;
  private final GatewayMetrics metrics;
  private final MissGuard misses;

  GatewayServerHandler(Archive archive, ObjectSource fallback, GatewayConfig config,
      Executor requests, GatewayMetrics metrics, MissGuard misses) {
    this.archive = archive;
    this.fallback = fallback;
    this.config = config;
    this.requests = requests;
    this.metrics = metrics;
    this.misses = misses;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    request.retain();
    BlockingWork.offload(ctx, requests, () -> handle(ctx, request), request::release);
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    boolean keepAlive = HttpUtil.isKeepAlive(request);
    boolean head = request.method().equals(HttpMethod.HEAD);
    GatewayRoute route = request.decoderResult().isSuccess()
        ? GatewayRoute.parse(request.method().name(), request.uri())
        : new GatewayRoute.Refused(400, "malformed request");
    try {
      switch (route) {
        case GatewayRoute.Metrics m ->
            send(ctx, full(HttpResponseStatus.OK, metrics.render(), "text/plain; version=0.0.4", head), keepAlive);
        case GatewayRoute.CacheInfo i -> cacheInfo(ctx, head, keepAlive);
        case GatewayRoute.NarInfo n -> narInfo(ctx, n.hash(), head, keepAlive);
        case GatewayRoute.Nar n -> nar(ctx, request, n.key(), head, keepAlive);
        case GatewayRoute.Proxy p -> proxy(ctx, p.key(), "application/octet-stream", head, keepAlive);
        case GatewayRoute.Refused r ->
            text(ctx, HttpResponseStatus.valueOf(r.status()), r.message(), keepAlive && r.status() != 400);
      }
    } catch (IOException e) {
      LOG.warn("{}: backend failure: {}", route, e.toString());
      text(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "backend unavailable, retry later", false);
    }
  }

  private void cacheInfo(ChannelHandlerContext ctx, boolean head, boolean keepAlive) {
    String body = "StoreDir: " + StorePath.STORE_DIR + "\nWantMassQuery: 1\nPriority: " + config.priority() + "\n";
    send(ctx, full(HttpResponseStatus.OK, body, "text/x-nix-cache-info", head), keepAlive);
  }

  private void narInfo(ChannelHandlerContext ctx, String hash, boolean head, boolean keepAlive) throws IOException {
    Optional<ArchivedNar> archived = archive.narInfo(hash);
    String client = client(ctx);
    if (archived.isEmpty() && misses.overLimit(client)) {
      // Someone walking through store hashes: slow them down; paths that exist are unaffected.
      metrics.missesLimited.increment();
      text(ctx, HttpResponseStatus.TOO_MANY_REQUESTS, "too many requests for unknown paths", false);
      return;
    }
    if (archived.isEmpty() && misses.knownAbsent(hash)) {
      misses.spend(client);
      text(ctx, HttpResponseStatus.NOT_FOUND, "no such path", keepAlive);
      return;
    }
    if (archived.isPresent()) {
      metrics.narInfoFromArchive.increment();
      FullHttpResponse r = full(HttpResponseStatus.OK, archived.get().narInfo(), NARINFO_TYPE, head);
      r.headers().set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=3600");
      send(ctx, r, keepAlive);
      return;
    }
    byte[] bytes;
    try {
      bytes = fallback.readSmall(hash + ".narinfo", NarInfo.MAX_BYTES);
    } catch (ObjectNotFoundException e) {
      misses.spend(client);
      misses.rememberAbsent(hash);
      text(ctx, HttpResponseStatus.NOT_FOUND, "no such path", keepAlive);
      return;
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, NARINFO_TYPE);
    HttpUtil.setContentLength(r, bytes.length);
    send(ctx, r, keepAlive);
  }

  private void nar(ChannelHandlerContext ctx, FullHttpRequest request, String key, boolean head, boolean keepAlive)
      throws IOException {
    Optional<ArchivedNar> archived = archive.nar(key);
    if (archived.isEmpty()) {
      proxy(ctx, key, NAR_TYPE, head, keepAlive);
      return;
    }
    ArchivedNar nar = archived.get();
    Optional<ByteRange> range;
    try {
      range = ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), nar.length());
    } catch (ByteRange.UnsatisfiableException e) {
      FullHttpResponse r = full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage() + "\n", "text/plain", head);
      r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + nar.length());
      send(ctx, r, keepAlive);
      return;
    }
    long from = range.map(ByteRange::first).orElse(0L);
    long length = range.map(ByteRange::length).orElse(nar.length());
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
        range.isPresent() ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, NAR_TYPE);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=31536000, immutable");
    range.ifPresent(r -> response.headers().set(HttpHeaderNames.CONTENT_RANGE, r.contentRange()));
    HttpUtil.setContentLength(response, length);
    HttpUtil.setKeepAlive(response, keepAlive);
    ResponseBodyStream body = new ResponseBodyStream(ctx, response);
    if (head) {
      body.finish();
      return;
    }
    try {
      int readAround = archive.read(nar, from, length, body);
      body.finish();
      metrics.narsFromArchive.increment();
      metrics.bytesFromArchive.add(length);
      if (readAround > 0) {
        metrics.degradedReads.increment();
      }
    } catch (IOException e) {
      if (body.started()) {
        // Part of a verified body is out: cut the connection so Nix sees a short read and retries.
        LOG.warn("NAR {} failed after {} bytes: {}", key, body.written(), e.getMessage());
        ctx.close();
        return;
      }
      LOG.warn("NAR {} cannot be rebuilt from holders ({}), trying S3", key, e.getMessage());
      metrics.archiveFailures.increment();
      try {
        proxy(ctx, key, NAR_TYPE, false, keepAlive, true);
      } catch (ObjectNotFoundException gone) {
        text(ctx, HttpResponseStatus.SERVICE_UNAVAILABLE, "archived NAR temporarily unavailable", false);
      }
    }
  }

  private void proxy(ChannelHandlerContext ctx, String key, String type, boolean head, boolean keepAlive)
      throws IOException {
    try {
      proxy(ctx, key, type, head, keepAlive, false);
    } catch (ObjectNotFoundException e) {
      text(ctx, HttpResponseStatus.NOT_FOUND, "not found", keepAlive);
    }
  }

  /** Streams an S3 object as it is; S3 verifies nothing for us, but these bytes are the cache's own. */
  private void proxy(ChannelHandlerContext ctx, String key, String type, boolean head, boolean keepAlive,
      boolean rethrowMissing) throws IOException {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    HttpUtil.setKeepAlive(response, keepAlive);
    if (head) {
      HttpUtil.setContentLength(response, fallback.size(key));
      new ResponseBodyStream(ctx, response).finish();
      return;
    }
    try (OpenedObject object = fallback.openObject(key)) {
      metrics.fromS3.increment();
      HttpUtil.setContentLength(response, object.length());
      ResponseBodyStream body = new ResponseBodyStream(ctx, response);
      try {
        object.stream().transferTo(body);
      } catch (IOException e) {
        if (body.started()) {
          ctx.close();
          return;
        }
        throw e;
      }
      body.finish();
    }
  }

  private static FullHttpResponse full(HttpResponseStatus status, String text, String type, boolean head) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    HttpUtil.setContentLength(r, bytes.length);
    return r;
  }

  private void text(ChannelHandlerContext ctx, HttpResponseStatus status, String message, boolean keepAlive) {
    send(ctx, full(status, message + "\n", "text/plain; charset=utf-8", false), keepAlive);
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
    metrics.request(response.status().code());
    HttpUtil.setKeepAlive(response, keepAlive);
    var f = ctx.writeAndFlush(response);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private static String client(ChannelHandlerContext ctx) {
    return ctx.channel().remoteAddress() instanceof InetSocketAddress a
        ? a.getAddress().getHostAddress() : String.valueOf(ctx.channel().remoteAddress());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
