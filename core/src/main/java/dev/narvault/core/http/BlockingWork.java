package dev.narvault.core.http;

import io.netty.channel.ChannelHandlerContext;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a request's blocking work (catalog, holders, S3) off the event loop. The connection stops
 * reading until the work is done (backpressure: one request's work at a time per connection;
 * {@link HttpGuards} keeps pipelined requests waiting and in order); an unexpected failure closes
 * the connection rather than leaving it silent.
 */
public final class BlockingWork {
  private static final Logger LOG = LoggerFactory.getLogger(BlockingWork.class);

  private BlockingWork() {}

  /** Hands {@code work} to {@code executor}; {@code done} runs afterwards in every case. */
  public static void offload(ChannelHandlerContext ctx, Executor executor, Runnable work, Runnable done) {
    ctx.channel().config().setAutoRead(false);
    try {
      executor.execute(() -> {
        try {
          work.run();
        } catch (RuntimeException e) {
          LOG.error("{}: request failed: {}", ctx.channel().remoteAddress(), e.toString(), e);
          ctx.close();
        } finally {
          done.run();
          ctx.channel().config().setAutoRead(true);
        }
      });
    } catch (RejectedExecutionException e) {
      // Shutting down: no answer is coming.
      done.run();
      ctx.close();
    }
  }
}
