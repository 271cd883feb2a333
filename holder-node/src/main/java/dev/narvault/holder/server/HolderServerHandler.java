package dev.narvault.holder.server;

import dev.narvault.core.holder.AuditChallenge;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.Order;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.http.ByteRange;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.FragmentMismatchException;
import dev.narvault.holder.store.FragmentStore;
import dev.narvault.holder.store.StoreFullException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The holder protocol ({@code docs/protocol.md}): {@code PUT|DELETE} (with a signed order),
 * {@code GET|HEAD} on {@code /v1/fragments/{id}}, {@code POST /v1/fragments/{id}/restore} (with a
 * signed order), {@code POST /v1/audit}, {@code POST /v1/prove}, {@code GET /v1/status} and
 * {@code GET /metrics}. Fragment reads count against the monthly upload quota
 * ({@link UploadQuota}), the coordinator's audits excepted. One instance per connection (it holds
 * the request in progress); runs on the blocking executor group.
 */
final class HolderServerHandler extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(HolderServerHandler.class);
  /** The most a small JSON request (an audit, an endpoint challenge) may carry. */
  private static final int MAX_SMALL_REQUEST = 16 * 1024;
  private static final int SERVE_CHUNK = 64 * 1024;

  /**
   * What the holder knows about itself, shared by all connections.
   *
   * @param prover signs endpoint proofs with the holder's identity key
   * @param zeroCopy no upload cap: fragments go from the file to the socket by the kernel
   * @param quota the monthly upload quota fragment reads count against
   */
  record Context(FragmentStore store, HolderMetrics metrics, CoordinatorKeys coordinatorKeys, String holderId,
      NixPublicKey identity, EndpointProver prover, Instant started, InstantSource clock, SeenNonces nonces,
      boolean zeroCopy, java.util.concurrent.atomic.AtomicReference<HolderMessages.Standing> standing,
      UploadQuota quota) {
    /** The order check for this holder's key, id, nonce journal and clock. */
    OrderCheck orders() {
      return new OrderCheck(coordinatorKeys, holderId, nonces, clock);
    }
  }

  private final Context c;
  private FragmentStore.Upload upload;
  private FragmentId uploadId;
  /** The body of a small JSON request being collected, and the route it is for. */
  private ByteBuf smallBody;
  private HolderRoute smallBodyFor;
  private boolean keepAlive;

  HolderServerHandler(Context context) {
    this.c = context;
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
    if (!request.decoderResult().isSuccess()) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, "malformed request");
      return;
    }
    switch (HolderRoute.parse(request.method().name(), request.uri())) {
      case HolderRoute.Status s -> status(ctx);
      case HolderRoute.Metrics m ->
          respond(ctx, HttpResponseStatus.OK, c.metrics().render(c.store(), c.quota().use()),
              "text/plain; version=0.0.4");
      case HolderRoute.Audit a -> collectBody(a);
      case HolderRoute.Prove p -> collectBody(p);
      case HolderRoute.Listing l -> listFragments(ctx, l);
      case HolderRoute.Fragment f -> fragmentRequest(ctx, request, f);
      case HolderRoute.Restore r -> restore(ctx, request, r.id());
      case HolderRoute.Refused r -> reject(ctx, HttpResponseStatus.valueOf(r.status()), r.message());
    }
  }

  private void fragmentRequest(ChannelHandlerContext ctx, HttpRequest request, HolderRoute.Fragment f)
      throws IOException {
    FragmentId id = f.id();
    switch (f.method()) {
      case "GET", "HEAD" -> serve(ctx, request, id, f.method().equals("HEAD"));
      case "PUT" -> {
        long length = HttpUtil.getContentLength(request, -1L);
        if (length < 1) {
          reject(ctx, HttpResponseStatus.LENGTH_REQUIRED, "PUT needs a Content-Length of at least 1");
        } else if (f.blockSize() < 1) {
          reject(ctx, HttpResponseStatus.BAD_REQUEST, "PUT needs ?blockSize=N, the fragment's block size");
        } else if (authorised(ctx, request, Order.Action.PUT, id, length, f.blockSize())) {
          if (c.store().contains(id)) {
            // Answered before the body is read or capacity reserved (a full holder still says
            // yes to what it has); the body is dropped as it arrives.
            respond(ctx, HttpResponseStatus.OK, "already stored\n", "text/plain; charset=utf-8");
          } else {
            beginUpload(ctx, id, length, f.blockSize());
          }
        }
      }
      default -> {
        if (authorised(ctx, request, Order.Action.DELETE, id, -1, 0)) {
          // Into the trash by one rename: works on a full disk.
          boolean deleted = c.store().delete(id);
          respond(ctx, deleted ? HttpResponseStatus.OK : HttpResponseStatus.NOT_FOUND,
              deleted ? "deleted\n" : "no fragment " + id + "\n", "text/plain; charset=utf-8");
        }
      }
    }
  }

  /**
   * {@code POST /v1/fragments/{id}/restore}: with a {@code restore} order, the trashed copy back
   * into service once it verifies: 200 (restored, or stored already), 404 (not in the trash),
   * 409 (the trashed copy is corrupt; it is deleted).
   */
  private void restore(ChannelHandlerContext ctx, HttpRequest request, FragmentId id) {
    if (!authorised(ctx, request, Order.Action.RESTORE, id, -1, 0)) {
      return;
    }
    try {
      switch (c.store().restore(id)) {
        case RESTORED -> respond(ctx, HttpResponseStatus.OK, "restored\n", "text/plain; charset=utf-8");
        case ALREADY_STORED -> respond(ctx, HttpResponseStatus.OK, "already stored\n", "text/plain; charset=utf-8");
        case NOT_IN_TRASH -> respond(ctx, HttpResponseStatus.NOT_FOUND, "fragment " + id + " is not in the trash\n",
            "text/plain; charset=utf-8");
      }
    } catch (FragmentMismatchException e) {
      reject(ctx, HttpResponseStatus.CONFLICT, e.getMessage());
    } catch (StoreFullException e) {
      reject(ctx, HttpResponseStatus.INSUFFICIENT_STORAGE, e.getMessage());
    } catch (IOException e) {
      LOG.error("restoring fragment {} failed: {}", id, e.toString());
      reject(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "cannot restore fragment " + id + ": " + e.getMessage());
    }
  }

  /**
   * Whether the request carries the coordinator's order for this (see {@link OrderCheck}); when it
   * does not, the refusal is answered here, with its status, and false returned.
   */
  private boolean authorised(ChannelHandlerContext ctx, HttpRequest request, Order.Action action, FragmentId id,
      long size, int blockSize) {
    try {
      c.orders().accept(request.headers().get(Order.HEADER), request.headers().get(Order.SIGNATURE_HEADER), action,
          id, size, blockSize);
      return true;
    } catch (OrderCheck.Refusal r) {
      if (r.status() == 503) {
        LOG.error("cannot record an order's nonce: {}", r.getMessage());
      } else if (r.status() == 403) {
        LOG.warn("{}: refused {} of {}: {}", ctx.channel().remoteAddress(), action, id, r.getMessage());
      }
      reject(ctx, HttpResponseStatus.valueOf(r.status()), r.getMessage());
      return false;
    }
  }

  private void beginUpload(ChannelHandlerContext ctx, FragmentId id, long length, int blockSize) throws IOException {
    try {
      upload = c.store().begin(id, length, blockSize);
      uploadId = id;
    } catch (StoreFullException e) {
      reject(ctx, HttpResponseStatus.INSUFFICIENT_STORAGE, e.getMessage());
    } catch (IllegalArgumentException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
    }
  }

  private void collectBody(HolderRoute route) {
    smallBody = Unpooled.buffer();
    smallBodyFor = route;
  }

  private void onContent(ChannelHandlerContext ctx, HttpContent content) throws IOException {
    if (smallBody != null) {
      smallBody.writeBytes(content.content());
      if (smallBody.readableBytes() > MAX_SMALL_REQUEST) {
        releaseSmallBody();
        reject(ctx, HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "request body larger than " + MAX_SMALL_REQUEST
            + " bytes");
      } else if (content instanceof LastHttpContent) {
        byte[] body = ByteBufUtil.getBytes(smallBody);
        boolean prove = smallBodyFor instanceof HolderRoute.Prove;
        releaseSmallBody();
        if (prove) {
          prove(ctx, body);
        } else {
          audit(ctx, body);
        }
      }
      return;
    }
    if (upload == null) {
      return;
    }
    try {
      if (content.content().isReadable()) {
        c.metrics().bytesReceived.add(content.content().readableBytes());
        upload.write(content.content().nioBuffer());
      }
      if (content instanceof LastHttpContent) {
        boolean created = upload.commit();
        finishUpload();
        respond(ctx, created ? HttpResponseStatus.CREATED : HttpResponseStatus.OK,
            created ? "stored\n" : "already stored\n", "text/plain; charset=utf-8");
      }
    } catch (FragmentMismatchException e) {
      LOG.warn("{} rejected fragment {}: {}", ctx.channel().remoteAddress(), uploadId, e.getMessage());
      finishUpload();
      reject(ctx, HttpResponseStatus.UNPROCESSABLE_ENTITY, e.getMessage());
    } catch (IOException e) {
      // A full disk lands here: the upload is discarded whole, nothing partial stays.
      LOG.error("writing fragment {} failed: {}", uploadId, e.toString());
      finishUpload();
      reject(ctx, HttpResponseStatus.INSUFFICIENT_STORAGE, "cannot store fragment: " + e.getMessage());
    }
  }

  private void releaseSmallBody() {
    smallBody.release();
    smallBody = null;
    smallBodyFor = null;
  }

  /**
   * {@code POST /v1/prove}: the endpoint challenge answered with a proof signed by the identity
   * key (here, on the blocking group, like every other piece of work).
   */
  private void prove(ChannelHandlerContext ctx, byte[] body) {
    EndpointProver.Answer answer;
    try {
      answer = c.prover().answer(body, ctx.channel().remoteAddress());
    } catch (IllegalArgumentException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    FullHttpResponse r = full(HttpResponseStatus.OK, answer.json(), "application/json");
    r.headers().set(SignedMessages.HEADER, answer.signature());
    send(ctx, r);
  }

  private void audit(ChannelHandlerContext ctx, byte[] body) throws IOException {
    String json = new String(body, StandardCharsets.UTF_8);
    AuditChallenge challenge;
    try {
      challenge = AuditChallenge.fromJson(json);
    } catch (IllegalArgumentException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    Optional<FileChannel> file = c.store().open(challenge.fragmentId());
    if (file.isEmpty()) {
      reject(ctx, HttpResponseStatus.NOT_FOUND, "no fragment " + challenge.fragmentId());
      return;
    }
    String answer;
    try (FileChannel f = file.get()) {
      answer = challenge.answer(f);
    } catch (IOException e) {
      reject(ctx, HttpResponseStatus.BAD_REQUEST, e.getMessage());
      return;
    }
    c.metrics().auditsAnswered.increment();
    respondJson(ctx, new HolderMessages.AuditAnswer(answer));
  }

  private void finishUpload() throws IOException {
    FragmentStore.Upload u = upload;
    upload = null;
    uploadId = null;
    u.close();
  }

  private void serve(ChannelHandlerContext ctx, HttpRequest request, FragmentId id, boolean head) throws IOException {
    Optional<FileChannel> opened = c.store().open(id);
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
      FullHttpResponse r = full(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE, e.getMessage() + "\n", "text/plain");
      r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + size);
      send(ctx, r);
      return;
    }
    long first = range.map(ByteRange::first).orElse(0L);
    long length = range.map(ByteRange::length).orElse(size);
    if (!head && length > 0 && !audit(ctx, request, id, length)) {
      try {
        c.quota().charge(length);
      } catch (UploadQuota.Exhausted e) {
        file.close();
        c.metrics().quotaRefusals.increment();
        // The connection stays open: a GET has no body, its framing is certain.
        FullHttpResponse r = full(HttpResponseStatus.SERVICE_UNAVAILABLE, e.getMessage() + "\n",
            "text/plain; charset=utf-8");
        r.headers().set(HttpHeaderNames.RETRY_AFTER, e.retryAfterSeconds(c.clock().instant()));
        send(ctx, r);
        return;
      }
    }
    HttpResponseStatus status = range.isPresent() ? HttpResponseStatus.PARTIAL_CONTENT : HttpResponseStatus.OK;
    HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
    response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    response.headers().set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    HttpUtil.setContentLength(response, length);
    range.ifPresent(r -> response.headers().set(HttpHeaderNames.CONTENT_RANGE, r.contentRange()));
    HttpUtil.setKeepAlive(response, keepAlive);
    c.metrics().request(status.code());
    ctx.write(response);
    ChannelFuture last;
    if (!head && length > 0) {
      c.metrics().bytesServed.add(length);
      if (c.zeroCopy()) {
        // The kernel copies file pages to the socket (sendfile); the region closes the file.
        ctx.write(new DefaultFileRegion(file, first, length));
        last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
      } else {
        // Chunks: the upload-speed cap can only pace what it sees in pieces.
        last = ctx.writeAndFlush(new HttpChunkedInput(new ChunkedNioFile(file, first, length, SERVE_CHUNK)));
      }
    } else {
      file.close();
      last = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    }
    if (!keepAlive) {
      last.addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * Whether a fragment read is the coordinator's audit: it carries an {@code audit} order (see
   * {@link OrderCheck}) for this fragment, this holder and exactly {@code length} bytes. An audit
   * is neither counted against the monthly upload quota nor refused for it: audits are one block
   * every few minutes, and a holder that did not answer them would lose its standing. An order
   * that does not hold makes the read an ordinary one, nothing worse.
   */
  private boolean audit(ChannelHandlerContext ctx, HttpRequest request, FragmentId id, long length) {
    String order = request.headers().get(Order.HEADER);
    if (order == null) {
      return false;
    }
    try {
      c.orders().accept(order, request.headers().get(Order.SIGNATURE_HEADER), Order.Action.AUDIT, id, length, 0);
      return true;
    } catch (OrderCheck.Refusal r) {
      LOG.warn("{}: read of {} with an audit order that does not hold, served as any read: {}",
          ctx.channel().remoteAddress(), id, r.getMessage());
      return false;
    }
  }

  private void status(ChannelHandlerContext ctx) {
    respondJson(ctx, new HolderMessages.Status(c.holderId(), c.identity().toString(), c.store().capacityBytes(),
        c.store().usedBytes(), c.store().fragmentCount(),
        Duration.between(c.started(), c.clock().instant()).toSeconds(), version(), c.quota().use(),
        c.standing().get()));
  }

  /**
   * {@code GET /v1/fragments?after=<id>&limit=N}: the ids of stored fragments in order, after
   * {@code after}, at most N (default and maximum {@value HolderRoute#MAX_LISTING}). Public, like
   * the fragments: it lets the catalog be rebuilt from what holders hold.
   */
  private void listFragments(ChannelHandlerContext ctx, HolderRoute.Listing request) throws IOException {
    String after = request.after();
    int limit = request.limit();
    List<String> ids = c.store().list(after, limit + 1).stream().map(FragmentId::hex).toList();
    List<String> page = ids.subList(0, Math.min(limit, ids.size()));
    respondJson(ctx, new HolderMessages.Listing(page, ids.size() > page.size()));
  }

  static String version() {
    String v = HolderServerHandler.class.getPackage().getImplementationVersion();
    return v == null ? "development" : v;
  }

  private void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String text, String type) {
    send(ctx, full(status, text, type));
  }

  private void respondJson(ChannelHandlerContext ctx, Object message) {
    respond(ctx, HttpResponseStatus.OK, new String(JsonCodec.toJson(message), StandardCharsets.UTF_8) + "\n",
        "application/json");
  }

  /** Answers with an error and closes the connection: its framing is uncertain after an early answer. */
  private void reject(ChannelHandlerContext ctx, HttpResponseStatus status, String message) {
    keepAlive = false;
    send(ctx, full(status, message + "\n", "text/plain; charset=utf-8"));
  }

  private static FullHttpResponse full(HttpResponseStatus status, String text, String type) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    HttpUtil.setContentLength(r, r.content().readableBytes());
    return r;
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse response) {
    c.metrics().request(response.status().code());
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
    if (smallBody != null) {
      releaseSmallBody();
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.warn("{}: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
