package dev.narvault.gateway.server;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.http.ByteRange;
import dev.narvault.core.pack.RangeFile;
import dev.narvault.core.s3.ObjectNotFoundException;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An archived NAR, whole or a range: from the NAR cache when it is kept there, else rebuilt from
 * the holders, every byte verified before it is sent. A whole NAR is rebuilt into a file once
 * however many ask for it, every fragment it spans read at once ({@link RebuildRelay}); a range,
 * or a NAR for which the rebuilds in flight leave no room on disk, is read for its request alone,
 * in order, straight to its client. When the holders cannot serve it and
 * nothing was sent yet, S3's copy, else 503; a failure after bytes went out cuts the connection
 * (Nix sees a short read and retries).
 */
final class ArchivedNarResponder {
  private static final Logger LOG = LoggerFactory.getLogger(ArchivedNarResponder.class);
  static final String NAR_TYPE = "application/x-nix-nar";
  /** A request following a rebuild gives up when it publishes nothing new for this long. */
  private static final Duration REBUILD_STALL = Duration.ofMinutes(2);

  private final Archive archive;
  private final RebuiltNarCache cache;
  private final ClientBuckets overhead;
  private final GatewayMetrics metrics;
  private final S3Proxy s3;
  private final boolean spreadReads;

  ArchivedNarResponder(Archive archive, RebuiltNarCache cache, ClientBuckets overhead, GatewayMetrics metrics,
      S3Proxy s3, boolean spreadReads) {
    this.spreadReads = spreadReads;
    this.archive = archive;
    this.cache = cache;
    this.overhead = overhead;
    this.metrics = metrics;
    this.s3 = s3;
  }

  void respond(Exchange x, ArchivedNar nar) throws IOException {
    String etag = CacheHeaders.etag(nar.fileHash());
    if (CacheHeaders.notModified(x.request(), etag)) {
      x.notModified(etag, CacheHeaders.IMMUTABLE);
      return;
    }
    Optional<ByteRange> range;
    try {
      range = ByteRange.parse(x.request().headers().get(HttpHeaderNames.RANGE), nar.length());
    } catch (ByteRange.UnsatisfiableException e) {
      FullHttpResponse r = Exchange.full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage() + "\n",
          "text/plain", x.head());
      r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + nar.length());
      x.send(r);
      return;
    }
    long from = range.map(ByteRange::first).orElse(0L);
    long length = range.map(ByteRange::length).orElse(nar.length());
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
        range.isPresent() ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, NAR_TYPE);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.IMMUTABLE);
    response.headers().set(HttpHeaderNames.ETAG, etag);
    range.ifPresent(r -> response.headers().set(HttpHeaderNames.CONTENT_RANGE, r.contentRange()));
    HttpUtil.setContentLength(response, length);
    ResponseBodyStream body = x.body(response);
    if (x.head()) {
      body.finish();
      return;
    }
    boolean hit;
    try {
      hit = cache.copyTo(nar.fileKey(), from, length, body);
    } catch (IOException e) {
      if (body.started()) {
        // Part of the kept file is out: cut the connection so Nix sees a short read and retries.
        LOG.warn("cached NAR {} failed after {} bytes: {}", nar.fileKey(), body.written(), e.getMessage());
        x.abort();
        return;
      }
      LOG.warn("cached NAR {} cannot be read ({}): reading it from the holders", nar.fileKey(), e.getMessage());
      hit = false;
    }
    if (hit) {
      metrics.cacheHits.increment();
      body.finish();
      return;
    }
    if (range.isPresent() && overhead.empty(x.client())) {
      // This client's ranges have cost the holders far more than it received (whole blocks read
      // for a few bytes, k fragments for each decoded one). Whole NARs are not charged: what they
      // cost beyond their bytes is the archive's own state, and a repeat comes from the cache.
      metrics.overheadLimited.increment();
      x.tooManyRequests("too much read overhead, slow down", overhead.secondsUntilToken(x.client()));
      return;
    }
    try {
      if (range.isEmpty()) {
        follow(nar, body);
      } else {
        Archive.ReadCost cost = read(nar, from, length, body);
        if (length < nar.length()) {
          overhead.spend(x.client(), Math.max(0, cost.holderBytes() - length));
        }
      }
      body.finish();
    } catch (IOException e) {
      if (body.started()) {
        // Part of a verified body is out: cut the connection so Nix sees a short read and retries.
        LOG.warn("NAR {} failed after {} bytes: {}", nar.fileKey(), body.written(), e.getMessage());
        x.abort();
        return;
      }
      LOG.warn("NAR {} cannot be rebuilt from holders ({}), trying S3", nar.fileKey(), e.getMessage());
      metrics.archiveFailures.increment();
      try {
        s3.proxy(x, nar.fileKey(), NAR_TYPE);
      } catch (ObjectNotFoundException gone) {
        x.unavailable("archived NAR temporarily unavailable");
      }
    }
  }

  /**
   * The whole NAR through the cache: kept, being rebuilt by another request, or rebuilt now; read
   * in order for this request alone when there is no room for its file. When the gateway cannot
   * write the rebuild's file (a full disk), the client does not lose its NAR: this request reads
   * the rest from the holders itself.
   */
  private void follow(ArchivedNar nar, OutputStream body) throws IOException {
    Optional<RebuildRelay.Follower> relayed;
    try {
      relayed = cache.follow(nar.fileKey(), nar.length(), nar.fileHash(), file -> fill(nar, file));
    } catch (RebuildRelay.FileFailedException e) {
      LOG.warn("NAR {}: {}; reading it for this request alone", nar.fileKey(), e.getMessage());
      read(nar, 0, nar.length(), body);
      return;
    }
    if (relayed.isEmpty()) {
      read(nar, 0, nar.length(), body);
      return;
    }
    try (RebuildRelay.Follower follower = relayed.get()) {
      switch (follower.origin()) {
        case CACHE -> metrics.cacheHits.increment();
        case SHARED -> metrics.rebuildsShared.increment();
        case STARTED -> { }
      }
      follower.copyTo(body, REBUILD_STALL);
    } catch (RebuildRelay.FileFailedException e) {
      LOG.warn("NAR {}: {}; reading it from byte {} for this request alone", nar.fileKey(), e.getMessage(),
          e.position());
      read(nar, e.position(), nar.length() - e.position(), body);
    }
  }

  /** Fills a rebuild's file from the holders, verified, and counts what it cost. */
  private void fill(ArchivedNar nar, RangeFile file) throws IOException {
    count(nar.length(), archive.fill(nar, file, spreadReads));
  }

  /** Reads from the holders, verified, and counts what it cost. */
  private Archive.ReadCost read(ArchivedNar nar, long from, long length, OutputStream out) throws IOException {
    return count(length, archive.read(nar, from, length, out));
  }

  private Archive.ReadCost count(long length, Archive.ReadCost cost) {
    metrics.narsFromArchive.increment();
    metrics.bytesFromArchive.add(length);
    metrics.holderBytes.add(cost.holderBytes());
    if (cost.readAround() > 0) {
      metrics.degradedReads.increment();
    }
    return cost;
  }
}
