package dev.narvault.gateway.server;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.http.BlockingWork;
import dev.narvault.core.http.ByteRange;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.RangeNotSatisfiableException;
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
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Nix asks and what it gets. Archived narinfos and NARs come from the catalog and the
 * holders (or the cache of NARs rebuilt lately); everything else, and archived NARs that cannot
 * be rebuilt, from S3, with its range, type and encoding.
 *
 * <p>Never a 404 because a backend failed: Nix caches a 404 narinfo for an hour. Backend trouble
 * (S3 refusing access or failing, holders and S3 both unable) is a 503 with {@code Retry-After},
 * which Nix retries. Every miss answers the same 404, whatever the route and whatever the reason,
 * and costs the client one token of its miss budget. No byte reaches the client before it is
 * verified.
 *
 * <p>Each request runs on a virtual thread, since it blocks on the catalog, holders and S3. The
 * connection stops reading while a request is in progress, so responses keep their order.
 */
final class GatewayServerHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServerHandler.class);
  private static final String NARINFO_TYPE = "text/x-nix-narinfo";
  private static final String NAR_TYPE = "application/x-nix-nar";
  /** How long Nix should wait before asking again after a 503. */
  private static final String RETRY_AFTER = "5";
  /** A request following another's rebuild of the same NAR waits at most this long for its next bytes. */
  private static final Duration SHARED_REBUILD_WAIT = Duration.ofMinutes(2);
  /** What is forwarded to S3 of a client's Range: one range, numbers only. */
  private static final Pattern SINGLE_RANGE = Pattern.compile("bytes=(\\d{1,19}-\\d{0,19}|-\\d{1,19})");
  private static final int COPY_BUFFER = 256 * 1024;

  private final Archive archive;
  private final ObjectSource fallback;
  private final GatewayConfig config;
  private final Executor requests;
  private final GatewayMetrics metrics;
  private final MissGuard misses;
  private final ClientBuckets overhead;
  private final RebuiltNarCache cache;

  GatewayServerHandler(Archive archive, ObjectSource fallback, GatewayConfig config, Executor requests,
      GatewayMetrics metrics, MissGuard misses, ClientBuckets overhead, RebuiltNarCache cache) {
    this.archive = archive;
    this.fallback = fallback;
    this.config = config;
    this.requests = requests;
    this.metrics = metrics;
    this.misses = misses;
    this.overhead = overhead;
    this.cache = cache;
  }

  /** One request: who asks, and how the answer ends. */
  private record Exchange(ChannelHandlerContext ctx, FullHttpRequest request, String client, boolean head,
      boolean keepAlive) {}

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    request.retain();
    BlockingWork.offload(ctx, requests, () -> handle(ctx, request), request::release);
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    Exchange x = new Exchange(ctx, request,
        ClientAddress.key(ctx.channel().remoteAddress(), request.headers().get("X-Forwarded-For"),
            config.trustForwardedFor()),
        request.method().equals(HttpMethod.HEAD), HttpUtil.isKeepAlive(request));
    GatewayRoute route = request.decoderResult().isSuccess()
        ? GatewayRoute.parse(request.method().name(), request.uri())
        : new GatewayRoute.Refused(400, "malformed request");
    try {
      switch (route) {
        case GatewayRoute.Metrics m ->
            send(x, full(HttpResponseStatus.OK, metrics.render(), "text/plain; version=0.0.4", x.head()));
        case GatewayRoute.CacheInfo i -> cacheInfo(x);
        case GatewayRoute.NarInfo n -> narInfo(x, n.hash());
        case GatewayRoute.Nar n -> nar(x, n.key());
        case GatewayRoute.Proxy p -> proxyUnlessAbsent(x, p.key(), "application/octet-stream");
        case GatewayRoute.Refused r when r.status() == 404 -> notFound(x);
        case GatewayRoute.Refused r -> text(x, HttpResponseStatus.valueOf(r.status()), r.message(),
            x.keepAlive() && r.status() != 400);
      }
    } catch (IOException e) {
      LOG.warn("{}: backend failure: {}", route, e.toString());
      unavailable(x, "backend unavailable, retry later");
    }
  }

  private void cacheInfo(Exchange x) {
    String body = "StoreDir: " + StorePath.STORE_DIR + "\nWantMassQuery: 1\nPriority: " + config.priority() + "\n";
    send(x, full(HttpResponseStatus.OK, body, "text/x-nix-cache-info", x.head()));
  }

  private void narInfo(Exchange x, String hash) throws IOException {
    Optional<ArchivedNar> archived = archive.narInfo(hash);
    if (archived.isPresent()) {
      metrics.narInfoFromArchive.increment();
      FullHttpResponse r = full(HttpResponseStatus.OK, archived.get().narInfo(), NARINFO_TYPE, x.head());
      r.headers().set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=3600");
      send(x, r);
      return;
    }
    String key = hash + ".narinfo";
    if (refusedAsMiss(x, key)) {
      return;
    }
    byte[] bytes;
    try {
      bytes = fallback.readSmall(key, NarInfo.MAX_BYTES);
    } catch (ObjectNotFoundException e) {
      miss(x, key);
      return;
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        x.head() ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, NARINFO_TYPE);
    HttpUtil.setContentLength(r, bytes.length);
    send(x, r);
  }

  /**
   * Before asking S3 for something the archive does not have: a client over its miss budget gets
   * 429 (someone walking through store hashes; archived paths are unaffected), and a key found
   * absent lately gets the 404 without S3 being asked. True when answered.
   */
  private boolean refusedAsMiss(Exchange x, String key) {
    if (misses.overLimit(x.client())) {
      metrics.missesLimited.increment();
      FullHttpResponse r = full(HttpResponseStatus.TOO_MANY_REQUESTS, "too many requests for unknown paths\n",
          "text/plain; charset=utf-8", false);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(misses.retryAfter(x.client())));
      send(x, r, false);
      return true;
    }
    if (misses.knownAbsent(key)) {
      misses.spend(x.client());
      notFound(x);
      return true;
    }
    return false;
  }

  private void miss(Exchange x, String key) {
    misses.spend(x.client());
    misses.rememberAbsent(key);
    notFound(x);
  }

  private void nar(Exchange x, String key) throws IOException {
    Optional<ArchivedNar> archived = archive.nar(key);
    if (archived.isEmpty()) {
      proxyUnlessAbsent(x, key, NAR_TYPE);
      return;
    }
    ArchivedNar nar = archived.get();
    Optional<ByteRange> range;
    try {
      range = ByteRange.parse(x.request().headers().get(HttpHeaderNames.RANGE), nar.length());
    } catch (ByteRange.UnsatisfiableException e) {
      FullHttpResponse r = full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage() + "\n",
          "text/plain", x.head());
      r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + nar.length());
      send(x, r);
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
    HttpUtil.setKeepAlive(response, x.keepAlive());
    ResponseBodyStream body = new ResponseBodyStream(x.ctx(), response);
    if (x.head()) {
      body.finish();
      return;
    }
    if (serveCached(key, from, length, body)) {
      return;
    }
    if (range.isPresent() && overhead.empty(x.client())) {
      // This client's ranges have cost the holders far more than it received (whole blocks read
      // for a few bytes, k fragments for each decoded one). Whole NARs are not charged: what they
      // cost beyond their bytes is the archive's own state, and a repeat comes from the cache.
      metrics.overheadLimited.increment();
      FullHttpResponse r = full(HttpResponseStatus.TOO_MANY_REQUESTS, "too much read overhead, slow down\n",
          "text/plain; charset=utf-8", false);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, Long.toString(overhead.secondsUntilToken(x.client())));
      send(x, r, false);
      return;
    }
    try {
      if (range.isPresent()) {
        readArchived(x, nar, from, length, body);
      } else {
        rebuildOnce(x, nar, body);
      }
      body.finish();
    } catch (IOException e) {
      if (body.started()) {
        // Part of a verified body is out: cut the connection so Nix sees a short read and retries.
        LOG.warn("NAR {} failed after {} bytes: {}", key, body.written(), e.getMessage());
        x.ctx().close();
        return;
      }
      LOG.warn("NAR {} cannot be rebuilt from holders ({}), trying S3", key, e.getMessage());
      metrics.archiveFailures.increment();
      try {
        proxy(x, key, NAR_TYPE);
      } catch (ObjectNotFoundException gone) {
        unavailable(x, "archived NAR temporarily unavailable");
      }
    }
  }

  /**
   * A whole NAR: rebuilt by this request and kept, or, when another request is rebuilding it
   * right now, streamed from that rebuild's file as it grows; whatever that one does not deliver
   * (it failed, stalled, or could not keep a copy) this request reads from the holders itself.
   */
  private void rebuildOnce(Exchange x, ArchivedNar nar, ResponseBodyStream body) throws IOException {
    switch (cache.begin(nar.fileKey(), nar.length(), nar.fileHash())) {
      case RebuiltNarCache.Follower follower -> {
        metrics.rebuildsShared.increment();
        long sent = follower.copyTo(body, SHARED_REBUILD_WAIT);
        if (sent == 0 && cache.copyTo(nar.fileKey(), 0, nar.length(), body)) {
          // The rebuild was done and kept before this request could follow it.
          return;
        }
        if (sent < nar.length()) {
          readArchived(x, nar, sent, nar.length() - sent, body);
        }
      }
      case RebuiltNarCache.Rebuild rebuild -> {
        try (rebuild) {
          readArchived(x, nar, 0, nar.length(), rebuild.alongside(body));
          rebuild.commit();
        }
      }
    }
  }

  private void readArchived(Exchange x, ArchivedNar nar, long from, long length, OutputStream out)
      throws IOException {
    Archive.ReadCost cost = archive.read(nar, from, length, out);
    if (length < nar.length()) {
      overhead.spend(x.client(), Math.max(0, cost.holderBytes() - length));
    }
    metrics.narsFromArchive.increment();
    metrics.bytesFromArchive.add(length);
    metrics.holderBytes.add(cost.holderBytes());
    if (cost.readAround() > 0) {
      metrics.degradedReads.increment();
    }
  }

  /** Streams {@code [from, from + length)} of a cached NAR and ends the body; false if not cached. */
  private boolean serveCached(String key, long from, long length, ResponseBodyStream body) throws IOException {
    if (!cache.copyTo(key, from, length, body)) {
      return false;
    }
    metrics.cacheHits.increment();
    body.finish();
    return true;
  }

  /** An object only S3 may have: the miss budget applies, and a miss is remembered. */
  private void proxyUnlessAbsent(Exchange x, String key, String type) throws IOException {
    if (refusedAsMiss(x, key)) {
      return;
    }
    try {
      proxy(x, key, type);
    } catch (ObjectNotFoundException e) {
      miss(x, key);
    }
  }

  /**
   * Streams an S3 object as it is, with its stored type and encoding, honouring a single
   * {@code Range}; S3 verifies nothing for us, but these bytes are the cache's own.
   *
   * @throws ObjectNotFoundException when S3 has no such key (nothing was sent)
   */
  private void proxy(Exchange x, String key, String type) throws IOException {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    HttpUtil.setKeepAlive(response, x.keepAlive());
    if (x.head()) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      HttpUtil.setContentLength(response, fallback.size(key));
      metrics.request(200);
      new ResponseBodyStream(x.ctx(), response).finish();
      return;
    }
    String rangeHeader = x.request().headers().get(HttpHeaderNames.RANGE);
    Optional<String> range = Optional.ofNullable(rangeHeader).map(String::strip)
        .filter(r -> SINGLE_RANGE.matcher(r).matches());
    OpenedObject object;
    try {
      object = fallback.openObject(key, range);
    } catch (RangeNotSatisfiableException e) {
      FullHttpResponse r = full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range not satisfiable\n",
          "text/plain", false);
      r.headers().set(HttpHeaderNames.CONTENT_RANGE,
          "bytes */" + (e.objectLength() >= 0 ? Long.toString(e.objectLength()) : "*"));
      send(x, r);
      return;
    }
    try (object) {
      metrics.fromS3.increment();
      if (object.contentRange().isPresent()) {
        response.setStatus(HttpResponseStatus.PARTIAL_CONTENT);
        response.headers().set(HttpHeaderNames.CONTENT_RANGE, object.contentRange().get());
      }
      // S3Proxy and S3 report binary/octet-stream for objects stored without a type.
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, object.contentType()
          .filter(t -> !t.equals("binary/octet-stream") && !t.equals("application/octet-stream")).orElse(type));
      object.contentEncoding().ifPresent(e -> response.headers().set(HttpHeaderNames.CONTENT_ENCODING, e));
      HttpUtil.setContentLength(response, object.length());
      metrics.request(response.status().code());
      ResponseBodyStream body = new ResponseBodyStream(x.ctx(), response);
      try {
        copy(object.stream(), body);
      } catch (IOException e) {
        if (body.started()) {
          x.ctx().close();
          return;
        }
        throw e;
      }
      body.finish();
    }
  }

  /** Copies in fresh arrays: the body hands each to Netty without copying it again. */
  private static void copy(InputStream in, OutputStream out) throws IOException {
    while (true) {
      byte[] buf = new byte[COPY_BUFFER];
      int n = in.readNBytes(buf, 0, buf.length);
      if (n > 0) {
        out.write(buf, 0, n);
      }
      if (n < buf.length) {
        return;
      }
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

  /** The one answer for anything that is not there, whatever the route and the reason. */
  private void notFound(Exchange x) {
    send(x, full(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain; charset=utf-8", x.head()));
  }

  private void unavailable(Exchange x, String message) {
    FullHttpResponse r = full(HttpResponseStatus.SERVICE_UNAVAILABLE, message + "\n", "text/plain; charset=utf-8",
        false);
    r.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER);
    send(x, r, false);
  }

  private void text(Exchange x, HttpResponseStatus status, String message, boolean keepAlive) {
    send(x, full(status, message + "\n", "text/plain; charset=utf-8", false), keepAlive);
  }

  private void send(Exchange x, FullHttpResponse response) {
    send(x, response, x.keepAlive());
  }

  private void send(Exchange x, FullHttpResponse response, boolean keepAlive) {
    metrics.request(response.status().code());
    HttpUtil.setKeepAlive(response, keepAlive);
    var f = x.ctx().writeAndFlush(response);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
