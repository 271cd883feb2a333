package dev.narvault.gateway.server;

import dev.narvault.core.http.HttpGuards;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.archive.Archive;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import java.time.InstantSource;
import java.util.concurrent.ExecutorService;

/** Builds each connection's pipeline, in order. */
final class GatewayServerInitializer {
  /** Nix sends no bodies worth reading; anything bigger is refused by the aggregator. */
  private static final int MAX_REQUEST_BODY = 64 * 1024;

  private final Archive archive;
  private final ObjectSource fallback;
  private final GatewayConfig config;
  private final ExecutorService requests;
  private final GatewayMetrics metrics;
  private final MissGuard misses;
  private final ClientBuckets overhead;
  private final RebuiltNarCache cache;

  GatewayServerInitializer(Archive archive, ObjectSource fallback, GatewayConfig config, ExecutorService requests,
      GatewayMetrics metrics, RebuiltNarCache cache) {
    this.archive = archive;
    this.fallback = fallback;
    this.config = config;
    this.requests = requests;
    this.metrics = metrics;
    this.misses = new MissGuard(InstantSource.system(), config.misses());
    this.overhead = new ClientBuckets(InstantSource.system(), config.overhead());
    this.cache = cache;
  }

  void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    // 1. Bytes <-> HTTP messages (bounded), malformed requests answered, slow or idle clients
    //    closed, pipelined requests answered in order.
    HttpGuards.install(p, config.limits());
    // 2. Requests are small: hand the handler whole ones.
    p.addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST_BODY));
    // 3. Routing on the event loop; the work itself on a virtual thread, one request at a time.
    p.addLast("gateway", new GatewayServerHandler(archive, fallback, config, requests, metrics, misses, overhead,
        cache));
  }
}
