package dev.narvault.holder.server;

import dev.narvault.core.http.HttpGuards;
import dev.narvault.core.http.ServerLimits;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.traffic.GlobalTrafficShapingHandler;
import io.netty.util.concurrent.EventExecutorGroup;

/** Builds each connection's pipeline, in order. */
final class HolderServerInitializer {
  private final HolderServerHandler.Context context;
  private final EventExecutorGroup blocking;
  private final GlobalTrafficShapingHandler shaper;
  private final ServerLimits limits;

  HolderServerInitializer(HolderServerHandler.Context context, EventExecutorGroup blocking,
      GlobalTrafficShapingHandler shaper, ServerLimits limits) {
    this.limits = limits;
    this.context = context;
    this.blocking = blocking;
    this.shaper = shaper;
  }

  void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    // 1. The volunteer's speed caps, shared by every connection (null: no caps).
    if (shaper != null) {
      p.addLast("caps", shaper);
    }
    // 2. Bytes <-> HTTP messages (bounded lines and headers; bodies arrive as a stream of
    //    HttpContent chunks, never whole), malformed requests answered, slow or idle clients
    //    closed, pipelined requests answered in order.
    HttpGuards.install(p, limits);
    // 3. Answers "Expect: 100-continue" so clients send the body.
    p.addLast("continue", new HttpServerExpectContinueHandler());
    // 4. Turns a served file into chunks as the socket drains.
    p.addLast("chunks", new ChunkedWriteHandler());
    // 5. The protocol, on the blocking group: it writes, fsyncs and hashes files.
    p.addLast(blocking, "holder", new HolderServerHandler(context));
  }
}
