package dev.narvault.repair;

import dev.narvault.core.http.HttpGuards;
import dev.narvault.core.http.ServerLimits;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import java.util.concurrent.ExecutorService;

/** Builds each coordinator connection's pipeline, in order. */
final class CoordinatorServerInitializer {
  private final CoordinatorServer.Routes routes;
  private final ExecutorService requests;

  CoordinatorServerInitializer(CoordinatorServer.Routes routes, ExecutorService requests) {
    this.routes = routes;
    this.requests = requests;
  }

  void initChannel(SocketChannel ch) {
    // 1. Bytes <-> HTTP messages, malformed requests answered, slow or idle clients closed,
    //    pipelined requests answered in order.
    HttpGuards.install(ch.pipeline(), ServerLimits.defaults());
    // 2. Whole requests: they are small (placement requests, signed holder messages).
    ch.pipeline().addLast("aggregate", new HttpObjectAggregator(CoordinatorServer.MAX_BODY));
    // 3. The API; its work runs on virtual threads (it touches the catalog).
    ch.pipeline().addLast("api", new CoordinatorServerHandler(routes, requests));
  }
}
