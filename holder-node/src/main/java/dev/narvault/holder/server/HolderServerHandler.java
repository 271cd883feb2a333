package dev.narvault.holder.server;

import dev.narvault.core.http.ByteRange;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.FragmentMismatchException;
import dev.narvault.holder.store.FragmentStore;
import dev.narvault.holder.store.StoreFullException;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The holder protocol: {@code PUT|GET|HEAD /v1/fragments/{id}} and {@code GET /v1/status}. One
 * instance per connection (it holds the upload in progress); runs on the blocking group.
 */
final class HolderServerHandler extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(HolderServerHandler.class);
  private static final String PREFIX = "/v1/fragments/";

  private final FragmentStore store;
  private final Instant started;
  private FragmentStore.Upload upload;
  private FragmentId uploadId;
  private boolean keepAlive;
  /** Set after answering a request early: its remaining body is read and dropped. */
  private boolean discarding;

  HolderServerHandler(FragmentStore store, Instant started) {
    this.store = store;
    this.started = started;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws IOException {
    try {
      if (msg instanceof HttpRequest request) {
        onRequest(ctx, request);
      }
      if (msg instanceof HttpContent content) {
        onContent(ctx, content);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onRequest(ChannelHandlerContext ctx, HttpRequest request) throws IOException {
    keepAlive = HttpUtil.isKeepAlive(request);
    discarding = false;
    if (!request.decoderResult().isSuccess()) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, "malformed request");
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(request.uri());
    String path = uri.path();
    HttpMethod method = request.method();
    if (path.equals("/v1/status") && method.equals(HttpMethod.GET)) {
      status(ctx);
      return;
    }
    if (!path.startsWith(PREFIX)) {
      reject(ctx, HttpResponseStatus.NOT_FOUND, "unknown path " + path);
      return;
    }
    FragmentId id;
    try {
      id = new FragmentId(path.substring(PREFIX.length()));
    } catch (IllegalArgumentException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    if (method.equals(HttpMethod.PUT)) {
      beginUpload(ctx, request, uri, id);
    } else if (method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD)) {
      serve(ctx, request, id, method.equals(HttpMethod.HEAD));
    } else {
      reject(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "use PUT, GET or HEAD");
    }
  }

  private void beginUpload(ChannelHandlerContext ctx, HttpRequest request, QueryStringDecoder uri, FragmentId id)
      throws IOException {
    long length = HttpUtil.getContentLength(request, -1L);
    if (length < 1) {
      reject(ctx, HttpResponseStatus.LENGTH_REQUIRED, "PUT needs a Content-Length of at least 1");
      return;
    }
    List<String> blockSizes = uri.parameters().getOrDefault("blockSize", List.of());
    int blockSize;
    try {
      blockSize = Integer.parseInt(blockSizes.isEmpty() ? "" : blockSizes.getFirst());
    } catch (NumberFormatException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, "PUT needs ?blockSize=N, the fragment's block size");
      return;
    }
    try {
      upload = store.begin(id, length, blockSize);
      uploadId = id;
    } catch (StoreFullException e) {
      reject(ctx, HttpResponseStatus.INSUFFICIENT_STORAGE, e.getMessage());
    } catch (IllegalArgumentException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
    }
  }

  private void onContent(ChannelHandlerContext ctx, HttpContent content) throws IOException {
    if (upload == null) {
      if (discarding && content instanceof LastHttpContent) {
        discarding = false;
      }
      return;
    }
    try {
      if (content.content().isReadable()) {
        upload.write(content.content().nioBuffer());
      }
      if (content instanceof LastHttpContent) {
        boolean created = upload.commit();
        LOG.debug("fragment {} {}", uploadId, created ? "stored" : "already present");
        finishUpload();
        respond(ctx, created ? HttpResponseStatus.CREATED : HttpResponseStatus.OK,
            created ? "stored\n" : "already stored\n");
      }
    } catch (FragmentMismatchException e) {
      LOG.warn("{} rejected fragment {}: {}", ctx.channel().remoteAddress(), uploadId, e.getMessage());
      finishUpload();
      reject(ctx, HttpResponseStatus.UNPROCESSABLE_ENTITY, e.getMessage());
    } catch (IOException e) {
      LOG.error("writing fragment {} failed: {}", uploadId, e.toString());
      finishUpload();
      reject(ctx, HttpResponseStatus.INSUFFICIENT_STORAGE, "cannot store fragment: " + e.getMessage());
    }
  }

  private void finishUpload() throws IOException {
    FragmentStore.Upload u = upload;
    upload = null;
    uploadId = null;
    u.close();
  }

  private void serve(ChannelHandlerContext ctx, HttpRequest request, FragmentId id, boolean head) throws IOException {
    Optional<FileChannel> opened = store.open(id);
    if (opened.isEmpty()) {
      reject(ctx, HttpResponseStatus.NOT_FOUND, "no fragment " + id);
      return;
    }
    FileChannel file = opened.get();
    long size = file.size();
    Optional<ByteRange> range;
    try {
      range = ByteRange.parse(request.headers().get(HttpHeaderNames.RANGE), size);
    } catch (ByteRange.UnsatisfiableException e) {
      file.close();
      FullHttpResponse r = full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage() + "\n");
      r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
      send(ctx, r);
      return;
    }
    long first = range.map(ByteRange::first).orElse(0L);
    long length = range.map(ByteRange::length).orElse(size);
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1,
        range.isPresent() ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    HttpUtil.setContentLength(response, length);
    range.ifPresent(r -> response.headers().set(HttpHeaderNames.CONTENT_RANGE, r.contentRange()));
    HttpUtil.setKeepAlive(response, keepAlive);
    ctx.write(response);
    if (!head && length > 0) {
      ctx.write(new DefaultFileRegion(file, first, length));
    } else {
      file.close();
    }
    ChannelFuture last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    if (!keepAlive) {
      last.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void status(ChannelHandlerContext ctx) {
    String json = String.format(
        "{\"capacityBytes\":%d,\"usedBytes\":%d,\"fragments\":%d,\"uptimeSeconds\":%d,\"version\":\"%s\"}%n",
        store.capacityBytes(), store.usedBytes(), store.fragmentCount(),
        Duration.between(started, Instant.now()).toSeconds(), version());
    FullHttpResponse r = full(HttpResponseStatus.OK, json);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    send(ctx, r);
  }

  private static String version() {
    String v = HolderServerHandler.class.getPackage().getImplementationVersion();
    return v == null ? "development" : v;
  }

  private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text) {
    send(ctx, full(status, text));
  }

  /** Answers with an error; the rest of the request body, if any, is read and dropped. */
  private void reject(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
    discarding = true;
    FullHttpResponse r = full(status, message + "\n");
    // After an early error the connection's framing is uncertain: close it.
    keepAlive = false;
    send(ctx, r);
  }

  private static FullHttpResponse full(HttpResponseStatus status, String text) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    HttpUtil.setContentLength(r, r.content().readableBytes());
    return r;
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse response) {
    HttpUtil.setKeepAlive(response, keepAlive);
    ChannelFuture f = ctx.writeAndFlush(response);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws IOException {
    if (upload != null) {
      LOG.info("{} disconnected during upload of {}: discarded", ctx.channel().remoteAddress(), uploadId);
      finishUpload();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
