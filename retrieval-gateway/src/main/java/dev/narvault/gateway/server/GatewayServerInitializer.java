package dev.narvault.gateway.server;

import dev.narvault.core.access.AccessRecorder;
import dev.narvault.core.http.HttpGuards;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.archive.Archive;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/** Builds each connection's pipeline, in order. */
final class GatewayServerInitializer {
  /** Nix sends no bodies worth reading; anything bigger is refused by the aggregator. */
  private static final int MAX_REQUEST_BODY = 64 * 1024;

  private final Archive archive;
  private final GatewayConfig config;
  private final ExecutorService requests;
  private final GatewayMetrics metrics;
  private final S3Proxy s3;
  private final ArchivedNarResponder nars;
  private final Optional<AccessRecorder> access;

  GatewayServerInitializer(Archive archive, ObjectSource fallback, GatewayConfig config, ExecutorService requests,
      GatewayMetrics metrics, RebuiltNarCache cache, Optional<AccessRecorder> access) {
    this.access = access;
    this.archive = archive;
    this.config = config;
    this.requests = requests;
    this.metrics = metrics;
    // Shared by every connection: budgets are per client, not per connection.
    this.s3 = new S3Proxy(fallback, metrics, new MissGuard(InstantSource.system(), config.misses()));
    this.nars = new ArchivedNarResponder(archive, cache,
        new ClientBuckets(InstantSource.system(), config.overhead()), metrics, s3, config.spreadReads());
  }

  void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    // 1. Bytes <-> HTTP messages (bounded), malformed requests answered, slow or idle clients
    //    closed, pipelined requests answered in order.
    HttpGuards.install(p, config.limits());
    // 2. Requests are small: hand the handler whole ones.
    p.addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST_BODY));
    // 3. Routing on the event loop; the work itself on a virtual thread, one request at a time.
    p.addLast("gateway", new GatewayServerHandler(archive, config, requests, metrics, s3, nars, access));
  }
}
