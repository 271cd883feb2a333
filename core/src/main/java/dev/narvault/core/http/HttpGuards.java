package dev.narvault.core.http;

import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The front of every narvault server's pipeline: the HTTP codec with bounded request lines and
 * headers, clear answers to what it cannot parse, timeouts against slow and stalled clients, and
 * pipelined requests answered strictly in order. Handlers after these see one well-formed request
 * at a time.
 */
public final class HttpGuards {
  private static final Logger LOG = LoggerFactory.getLogger(HttpGuards.class);
  /** Body chunks the codec hands on; the handlers stream bodies, never hold them whole. */
  private static final int MAX_CHUNK = 64 * 1024;
  /** Bytes of requests sent ahead that one connection may make the server hold. */
  static final long MAX_WAITING_BYTES = 256 * 1024;

  private HttpGuards() {}

  /** Adds, in order: {@code http} (codec), {@code malformed}, {@code idle}, {@code order}. */
  public static void install(ChannelPipeline p, ServerLimits limits) {
    p.addLast("http", new HttpServerCodec(limits.maxInitialLineLength(), limits.maxHeaderSize(), MAX_CHUNK));
    p.addLast("malformed", new Malformed());
    // Neither a byte in nor a byte out (observed as it leaves, not when it is queued) for this long.
    p.addLast("idle", new IdleStateHandler(true, 0, 0, limits.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
    p.addLast("order", new InOrder(limits));
  }

  /** A response that closes the connection. */
  static FullHttpResponse closing(HttpResponseStatus status, String message) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        Unpooled.copiedBuffer(message + "\n", StandardCharsets.UTF_8));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    return r;
  }

  /**
   * Requests the codec could not parse get 414 (request line too long), 431 (headers too large)
   * or 400, and the connection is closed: after a framing error nothing on it can be trusted.
   */
  static final class Malformed extends ChannelInboundHandlerAdapter {
    private boolean failed;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (failed) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof HttpRequest request && request.decoderResult().isFailure()) {
        failed = true;
        Throwable cause = request.decoderResult().cause();
        ReferenceCountUtil.release(msg);
        HttpResponseStatus status = cause instanceof TooLongHttpLineException ? HttpResponseStatus.REQUEST_URI_TOO_LONG
            : cause instanceof TooLongHttpHeaderException ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            : cause instanceof TooLongFrameException ? HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE
            : HttpResponseStatus.BAD_REQUEST;
        ctx.writeAndFlush(closing(status, "malformed request: " + status.reasonPhrase()))
            .addListener(ChannelFutureListener.CLOSE);
        return;
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * Answers pipelined requests in order: while a request's response is not yet written whole,
   * the next requests wait here (and the connection stops reading); each is handed on when the
   * one before it is answered. Also closes a connection whose first request has not arrived
   * within the header timeout, and one that was idle too long.
   */
  static final class InOrder extends ChannelDuplexHandler {
    private final ServerLimits limits;
    private final ArrayDeque<Object> waiting = new ArrayDeque<>();
    private long waitingBytes;
    private int waitingRequests;
    private boolean responding;
    private ScheduledFuture<?> headerDeadline;

    InOrder(ServerLimits limits) {
      this.limits = limits;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      headerDeadline = ctx.executor().schedule(() -> {
        LOG.debug("{}: no whole request within {}; closing", ctx.channel().remoteAddress(), limits.headerTimeout());
        ctx.close();
      }, limits.headerTimeout().toMillis(), TimeUnit.MILLISECONDS);
      super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        if (headerDeadline != null) {
          headerDeadline.cancel(false);
          headerDeadline = null;
        }
        if (responding || !waiting.isEmpty()) {
          hold(ctx, msg);
          return;
        }
        responding = true;
      } else if (!waiting.isEmpty()) {
        // Body of a request that waits.
        hold(ctx, msg);
        return;
      }
      ctx.fireChannelRead(msg);
    }

    private void hold(ChannelHandlerContext ctx, Object msg) {
      long bytes = msg instanceof ByteBufHolder b ? b.content().readableBytes() : 0;
      boolean request = msg instanceof HttpRequest;
      if ((request && waitingRequests >= limits.maxPipelined()) || waitingBytes + bytes > MAX_WAITING_BYTES) {
        ReferenceCountUtil.release(msg);
        LOG.debug("{}: more than {} pipelined requests or {} bytes of them; closing", ctx.channel().remoteAddress(),
            limits.maxPipelined(), MAX_WAITING_BYTES);
        ctx.close();
        return;
      }
      waitingBytes += bytes;
      waitingRequests += request ? 1 : 0;
      waiting.add(msg);
      ctx.channel().config().setAutoRead(false);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
      boolean informational = msg instanceof HttpResponse r && r.status().codeClass() == HttpStatusClass.INFORMATIONAL;
      if (msg instanceof LastHttpContent && !informational) {
        ChannelPromise p = promise.unvoid();
        p.addListener(f -> answered(ctx));
        ctx.write(msg, p);
        return;
      }
      ctx.write(msg, promise);
    }

    /** The response in progress is written whole: the next waiting request goes on. */
    private void answered(ChannelHandlerContext ctx) {
      responding = false;
      while (!waiting.isEmpty() && ctx.channel().isActive()) {
        if (waiting.peek() instanceof HttpRequest) {
          if (responding) {
            return;
          }
          responding = true;
        }
        Object next = waiting.poll();
        waitingBytes -= next instanceof ByteBufHolder b ? b.content().readableBytes() : 0;
        waitingRequests -= next instanceof HttpRequest ? 1 : 0;
        ctx.fireChannelRead(next);
      }
      if (waiting.isEmpty() && ctx.channel().isActive() && !ctx.channel().config().isAutoRead()) {
        ctx.channel().config().setAutoRead(true);
        ctx.read();
      }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof IdleStateEvent) {
        LOG.debug("{}: idle for {}; closing", ctx.channel().remoteAddress(), limits.idleTimeout());
        ctx.close();
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      discard();
      super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
      discard();
    }

    private void discard() {
      if (headerDeadline != null) {
        headerDeadline.cancel(false);
        headerDeadline = null;
      }
      Object m;
      while ((m = waiting.poll()) != null) {
        ReferenceCountUtil.release(m);
      }
      waitingBytes = 0;
      waitingRequests = 0;
    }
  }
}
