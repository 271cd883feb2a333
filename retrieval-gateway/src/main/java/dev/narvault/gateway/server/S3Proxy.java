package dev.narvault.gateway.server;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import dev.narvault.core.s3.RangeNotSatisfiableException;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What the archive does not have, from S3 as it is: objects with their range, type and encoding,
 * and narinfos. Asking S3 for what may not exist costs the client its miss budget ({@link
 * MissGuard}): over it, 429; a key found absent lately is answered 404 without asking again.
 */
final class S3Proxy {
  /** What is forwarded to S3 of a client's Range: one range, numbers only. */
  private static final Pattern SINGLE_RANGE = Pattern.compile("bytes=(\\d{1,19}-\\d{0,19}|-\\d{1,19})");
  private static final int COPY_BUFFER = 256 * 1024;

  private final ObjectSource objects;
  private final GatewayMetrics metrics;
  private final MissGuard misses;

  S3Proxy(ObjectSource objects, GatewayMetrics metrics, MissGuard misses) {
    this.objects = objects;
    this.metrics = metrics;
    this.misses = misses;
  }

  /** A narinfo the catalog does not have. */
  void narInfo(Exchange x, String key, String type) throws IOException {
    if (refusedAsMiss(x, key)) {
      return;
    }
    byte[] bytes;
    try {
      bytes = objects.readSmall(key, NarInfo.MAX_BYTES);
    } catch (ObjectNotFoundException e) {
      miss(x, key);
      return;
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        x.head() ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.SHORT);
    HttpUtil.setContentLength(r, bytes.length);
    x.send(r);
  }

  /** An object only S3 may have: the miss budget applies, and a miss is remembered. */
  void proxyUnlessAbsent(Exchange x, String key, String type) throws IOException {
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
   * Before asking S3 for something the archive does not have: a client over its miss budget gets
   * 429 (someone walking through store hashes; archived paths are unaffected), and a key found
   * absent lately gets the 404 without S3 being asked. True when answered.
   */
  private boolean refusedAsMiss(Exchange x, String key) {
    if (misses.overLimit(x.client())) {
      metrics.missesLimited.increment();
      x.tooManyRequests("too many requests for unknown paths", misses.retryAfter(x.client()));
      return true;
    }
    if (misses.knownAbsent(key)) {
      misses.spend(x.client());
      x.notFound();
      return true;
    }
    return false;
  }

  private void miss(Exchange x, String key) {
    misses.spend(x.client());
    misses.rememberAbsent(key);
    x.notFound();
  }

  /**
   * Streams an S3 object as it is, with its stored type and encoding, honouring a single
   * {@code Range}, cached as {@link CacheHeaders#forObject} says (no ETag: S3's is not passed on,
   * and the FileHash is not known here); S3 verifies nothing for us, but these bytes are the cache's own.
   *
   * @throws ObjectNotFoundException when S3 has no such key (nothing was sent)
   */
  void proxy(Exchange x, String key, String type) throws IOException {
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    response.headers().set(HttpHeaderNames.CACHE_CONTROL, CacheHeaders.forObject(key));
    if (x.head()) {
      response.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
      HttpUtil.setContentLength(response, objects.size(key));
      metrics.request(200);
      x.body(response).finish();
      return;
    }
    String rangeHeader = x.request().headers().get(HttpHeaderNames.RANGE);
    Optional<String> range = Optional.ofNullable(rangeHeader).map(String::strip)
        .filter(r -> SINGLE_RANGE.matcher(r).matches());
    OpenedObject object;
    try {
      object = objects.openObject(key, range);
    } catch (RangeNotSatisfiableException e) {
      FullHttpResponse r = Exchange.full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range not satisfiable\n",
          "text/plain", false);
      r.headers().set(HttpHeaderNames.CONTENT_RANGE,
          "bytes */" + (e.objectLength() >= 0 ? Long.toString(e.objectLength()) : "*"));
      x.send(r);
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
      ResponseBodyStream body = x.body(response);
      try {
        copy(object.stream(), body);
      } catch (IOException e) {
        if (body.started()) {
          x.abort();
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
}
