package dev.narvault.holder.server;

import dev.narvault.holder.store.FragmentStore;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.util.concurrent.EventExecutorGroup;
import java.time.Instant;

/** Builds each connection's pipeline, in order. */
final class HolderServerInitializer {
  private final FragmentStore store;
  private final EventExecutorGroup blocking;
  private final Instant started;

  HolderServerInitializer(FragmentStore store, EventExecutorGroup blocking, Instant started) {
    this.store = store;
    this.blocking = blocking;
    this.started = started;
  }

  void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    // 1. Bytes <-> HTTP messages; bodies arrive as a stream of HttpContent chunks, never whole.
    p.addLast("http", new HttpServerCodec());
    // 2. Answers "Expect: 100-continue" so clients send the body.
    p.addLast("continue", new HttpServerExpectContinueHandler());
    // 3. The protocol, on the blocking group: it writes, fsyncs and hashes files.
    p.addLast(blocking, "holder", new HolderServerHandler(store, started));
  }
}
