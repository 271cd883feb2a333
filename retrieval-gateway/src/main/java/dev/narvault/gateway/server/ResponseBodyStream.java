package dev.narvault.gateway.server;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;

/**
 * Streams a response body to a Netty channel from a blocking thread. The response head is sent
 * with the first bytes, so a source that fails before producing anything can still be answered
 * with another status. Each chunk waits until Netty has written it: backpressure without
 * buffering a whole NAR.
 */
final class ResponseBodyStream extends OutputStream {
  private final ChannelHandlerContext ctx;
  private final HttpResponse head;
  private boolean headSent;
  private long written;

  ResponseBodyStream(ChannelHandlerContext ctx, HttpResponse head) {
    this.ctx = ctx;
    this.head = head;
  }

  boolean started() {
    return headSent;
  }

  long written() {
    return written;
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return;
    }
    sendHead();
    // Wrapped, not copied: the write is awaited before the caller gets its array back.
    await(ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(b, off, len))));
    written += len;
  }

  /**
   * Writes bytes {@code [position, position + count)} of {@code file} (verified already), sent by
   * the kernel from the page cache to the socket: no copy through this process and no array
   * allocated. {@code file} stays open; it is the caller's to close.
   */
  void write(FileChannel file, long position, long count) throws IOException {
    if (count == 0) {
      return;
    }
    sendHead();
    await(ctx.writeAndFlush(new ChannelRegion(file, position, count)));
    written += count;
  }

  private void sendHead() throws IOException {
    if (!headSent) {
      headSent = true;
      await(ctx.writeAndFlush(head));
    }
  }

  /** Ends the response (sending the head first if nothing was written). */
  void finish() throws IOException {
    sendHead();
    await(ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
  }

  private void await(ChannelFuture f) throws IOException {
    f.awaitUninterruptibly();
    if (!f.isSuccess()) {
      throw new IOException("client went away: " + f.cause(), f.cause());
    }
  }
}
