package dev.narvault.repair;

import dev.narvault.core.http.NettyServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops the coordinator's HTTP API: holders register, heartbeat, report corrupt
 * fragments and announce their exit; workers ask for placements; anyone reads {@code /metrics}.
 * The pipeline is {@link CoordinatorServerInitializer}'s, the API {@link CoordinatorServerHandler}'s.
 */
public final class CoordinatorServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorServer.class);
  /**
   * Largest request body: a placement request for 256 fragments, with the holders it names, is
   * about 60 KiB; holder messages are far smaller.
   */
  static final int MAX_BODY = 128 * 1024;

  private final NettyServer server;

  private CoordinatorServer(NettyServer server) {
    this.server = server;
  }

  static CoordinatorServer start(InetSocketAddress bind, Membership membership, Standings standings,
      PlacementEndpoint placements, CoordinatorMetrics metrics) throws IOException {
    ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    Routes routes = new Routes(membership, standings, placements, metrics);
    CoordinatorServerInitializer initializer = new CoordinatorServerInitializer(routes, requests);
    NettyServer server = NettyServer.start(bind, initializer::initChannel, requests::shutdownNow);
    LOG.info("coordinator listening on {}", server.endpoint());
    return new CoordinatorServer(server);
  }

  /** What the API routes to. */
  record Routes(Membership membership, Standings standings, PlacementEndpoint placements,
      CoordinatorMetrics metrics) {}

  public URI endpoint() {
    return server.endpoint();
  }

  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  @Override
  public void close() {
    server.close();
  }
}
