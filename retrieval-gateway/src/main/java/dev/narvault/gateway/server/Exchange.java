package dev.narvault.gateway.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;

/**
 * One request: who asks, how the answer ends, and the short answers every part of the gateway
 * gives the same way (404, 304, 429, 503), each counted in the metrics, with the caching
 * {@link CacheHeaders} says.
 */
final class Exchange {
  /** How long Nix should wait before asking again after a 503. */
  private static final String RETRY_AFTER = "5";

  private final ChannelHandlerContext ctx;
  private final FullHttpRequest request;
  private final String client;
  private final GatewayMetrics metrics;
  /** The {@code Cache-Control} of a 404 ({@link CacheHeaders#notFound}). */
  private final String notFoundCaching;

  Exchange(ChannelHandlerContext ctx, FullHttpRequest request, String client, GatewayMetrics metrics,
      String notFoundCaching) {
    this.ctx = ctx;
    this.request = request;
    this.client = client;
    this.metrics = metrics;
    this.notFoundCaching = notFoundCaching;
  }

  FullHttpRequest request() {
    return request;
  }

  /** The client's key for per-client budgets (an IPv4 address or an IPv6 /64). */
  String client() {
    return client;
  }

  boolean head() {
    return request.method().equals(HttpMethod.HEAD);
  }

  boolean keepAlive() {
    return HttpUtil.isKeepAlive(request);
  }

  /** A streamed body after {@code response} (sent with the first bytes); not counted as a complete response. */
  ResponseBodyStream body(HttpResponse response) {
    HttpUtil.setKeepAlive(response, keepAlive());
    return new ResponseBodyStream(ctx, response);
  }

  /** Cuts the connection: a streamed body that cannot be finished must not look complete. */
  void abort() {
    ctx.close();
  }

  static FullHttpResponse full(HttpResponseStatus status, String text, String type, boolean head) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    HttpUtil.setContentLength(r, bytes.length);
    return r;
  }

  /** The one answer for anything that is not there, whatever the route and the reason. */
  void notFound() {
    FullHttpResponse r = full(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain; charset=utf-8", head());
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, notFoundCaching);
    send(r);
  }

  /** 304 for a NAR the client (or its CDN) has: its tag and caching again, no body. */
  void notModified(String etag, String cacheControl) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_MODIFIED,
        Unpooled.EMPTY_BUFFER);
    r.headers().set(HttpHeaderNames.ETAG, etag);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, cacheControl);
    send(r);
  }

  /** 503 with Retry-After, never stored by a cache, closing the connection. */
  void unavailable(String message) {
    FullHttpResponse r = full(HttpResponseStatus.SERVICE_UNAVAILABLE, message + "\n", "text/plain; charset=utf-8",
        false);
    r.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.NO_STORE);
    send(r, false);
  }

  /** 429, closing the connection. */
  void tooManyRequests(String message, long retryAfterSeconds) {
    FullHttpResponse r = full(HttpResponseStatus.TOO_MANY_REQUESTS, message + "\n", "text/plain; charset=utf-8",
        false);
    r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfterSeconds));
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.NO_STORE);
    send(r, false);
  }

  /** An error in words (400, 405): never stored by a cache. */
  void text(HttpResponseStatus status, String message, boolean keepAlive) {
    FullHttpResponse r = full(status, message + "\n", "text/plain; charset=utf-8", false);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.NO_STORE);
    send(r, keepAlive);
  }

  void send(FullHttpResponse response) {
    send(response, keepAlive());
  }

  void send(FullHttpResponse response, boolean keepAlive) {
    metrics.request(response.status().code());
    HttpUtil.setKeepAlive(response, keepAlive);
    var f = ctx.writeAndFlush(response);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }
}
