package dev.narvault.gateway.server;

import dev.narvault.core.access.AccessRecorder;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.http.BlockingWork;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.s3.ObjectNotFoundException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Nix asks and where the answer comes from: the route ({@link GatewayRoute}), then archived
 * narinfos from the catalog, archived NARs from {@link ArchivedNarResponder} (or from S3 once
 * put back there), everything else from S3 ({@link S3Proxy}). A forgotten store path
 * ({@code narvault forget}) is a 404 for its narinfo, its NAR and its listing, and S3 is not asked
 * about it. Requests for archived NARs are
 * counted in the catalog's access records ({@link AccessRecorder}).
 *
 * <p>Never a 404 because a backend failed: Nix caches a 404 narinfo for an hour. Backend trouble
 * (S3 refusing access or failing, holders and S3 both unable) is a 503 with {@code Retry-After},
 * which Nix retries. Every miss answers the same 404, whatever the route and whatever the reason,
 * and costs the client one token of its miss budget (the client being whom trusted proxies name:
 * {@link ClientIdentity}). No byte reaches the client before it is verified. Every answer says
 * how long a CDN may keep it ({@link CacheHeaders}).
 *
 * <p>Each request runs on a virtual thread, since it blocks on the catalog, holders and S3. The
 * connection stops reading while a request is in progress, so responses keep their order.
 */
final class GatewayServerHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServerHandler.class);
  private static final String NARINFO_TYPE = "text/x-nix-narinfo";

  private final Archive archive;
  private final GatewayConfig config;
  private final Executor requests;
  private final GatewayMetrics metrics;
  private final S3Proxy s3;
  private final ArchivedNarResponder nars;
  private final Optional<AccessRecorder> access;
  private final String notFoundCaching;

  GatewayServerHandler(Archive archive, GatewayConfig config, Executor requests, GatewayMetrics metrics, S3Proxy s3,
      ArchivedNarResponder nars, Optional<AccessRecorder> access) {
    this.access = access;
    this.archive = archive;
    this.config = config;
    this.requests = requests;
    this.metrics = metrics;
    this.s3 = s3;
    this.nars = nars;
    this.notFoundCaching = CacheHeaders.notFound(config.misses().negativeTtl());
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    request.retain();
    BlockingWork.offload(ctx, requests, () -> handle(ctx, request), request::release);
  }

  private void handle(ChannelHandlerContext ctx, FullHttpRequest request) {
    ClientIdentity identity = config.clientIdentity();
    String client = ClientAddress.key(ctx.channel().remoteAddress(), request.headers().getAll("X-Forwarded-For"),
        identity.clientIpHeader().map(request.headers()::get).orElse(null), identity);
    Exchange x = new Exchange(ctx, request, client, metrics, notFoundCaching);
    GatewayRoute route = request.decoderResult().isSuccess()
        ? GatewayRoute.parse(request.method().name(), request.uri())
        : new GatewayRoute.Refused(400, "malformed request");
    try {
      switch (route) {
        case GatewayRoute.Metrics m -> x.send(cached(Exchange.full(HttpResponseStatus.OK, metrics.render(),
            "text/plain; version=0.0.4", x.head()), CacheHeaders.NO_STORE));
        case GatewayRoute.CacheInfo i -> cacheInfo(x);
        case GatewayRoute.NarInfo n -> narInfo(x, n.hash());
        case GatewayRoute.Nar n -> nar(x, n.key());
        case GatewayRoute.Proxy p when forgottenListing(p.key()) -> x.notFound();
        case GatewayRoute.Proxy p -> s3.proxyUnlessAbsent(x, p.key(), "application/octet-stream");
        case GatewayRoute.Refused r when r.status() == 404 -> x.notFound();
        case GatewayRoute.Refused r -> x.text(HttpResponseStatus.valueOf(r.status()), r.message(),
            x.keepAlive() && r.status() != 400);
      }
    } catch (IOException e) {
      LOG.warn("{}: backend failure: {}", route, e.toString());
      x.unavailable("backend unavailable, retry later");
    }
  }

  private void cacheInfo(Exchange x) {
    String body = "StoreDir: " + StorePath.STORE_DIR + "\nWantMassQuery: 1\nPriority: " + config.priority() + "\n";
    x.send(cached(Exchange.full(HttpResponseStatus.OK, body, "text/x-nix-cache-info", x.head()), CacheHeaders.SHORT));
  }

  private void narInfo(Exchange x, String hash) throws IOException {
    if (archive.isForgotten(hash)) {
      x.notFound();
      return;
    }
    Optional<ArchivedNar> archived = archive.narInfo(hash);
    if (archived.isEmpty()) {
      s3.narInfo(x, hash + ".narinfo", NARINFO_TYPE);
      return;
    }
    if (archive.isForgottenObject(archived.get().fileKey())) {
      // A path naming a forgotten object that was not forgotten itself (an alias recorded after
      // the takedown, or one a stopped run missed): its NAR is 404, so its narinfo is too.
      x.notFound();
      return;
    }
    metrics.narInfoFromArchive.increment();
    x.send(cached(Exchange.full(HttpResponseStatus.OK, archived.get().narInfo(), NARINFO_TYPE, x.head()),
        CacheHeaders.SHORT));
  }

  /** {@code <hash>.ls} (a NAR's file listing) of a forgotten store path. */
  private boolean forgottenListing(String key) throws IOException {
    return key.length() == StorePath.HASH_PART_LENGTH + ".ls".length() && key.endsWith(".ls")
        && archive.isForgotten(key.substring(0, StorePath.HASH_PART_LENGTH));
  }

  private static FullHttpResponse cached(FullHttpResponse r, String cacheControl) {
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, cacheControl);
    return r;
  }

  private void nar(Exchange x, String key) throws IOException {
    if (archive.isForgottenObject(key)) {
      x.notFound();
      return;
    }
    Optional<ArchivedNar> archived = archive.nar(key);
    if (archived.isEmpty()) {
      s3.proxyUnlessAbsent(x, key, ArchivedNarResponder.NAR_TYPE);
      return;
    }
    if (!x.head()) {
      // Requests for archived NARs no longer reach S3's logs: the gateway keeps the record.
      access.ifPresent(a -> a.record(archived.get().storeHash()));
    }
    if (archive.backInS3(archived.get(), s3.bucket())) {
      // Put back into this bucket (promote, restore): S3 serves it, the holders only if it is not there.
      try {
        s3.proxy(x, key, ArchivedNarResponder.NAR_TYPE);
        return;
      } catch (ObjectNotFoundException gone) {
        LOG.warn("NAR {} was put back into S3 but is not there; serving it from the holders", key);
      }
    }
    nars.respond(x, archived.get());
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
