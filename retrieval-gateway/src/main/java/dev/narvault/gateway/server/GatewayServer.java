package dev.narvault.gateway.server;

import dev.narvault.core.access.AccessRecorder;
import dev.narvault.core.http.NettyServer;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.archive.Archive;
import java.io.IOException;
import java.net.URI;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops the gateway. Requests block (catalog, holders, S3), so each runs on a virtual
 * thread; the event loops only move bytes.
 */
public final class GatewayServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);

  private final NettyServer server;
  private final RebuiltNarCache cache;
  private final Optional<AccessRecorder> access;

  private GatewayServer(NettyServer server, RebuiltNarCache cache, Optional<AccessRecorder> access) {
    this.server = server;
    this.cache = cache;
    this.access = access;
  }

  /** A gateway that keeps no access records. */
  public static GatewayServer start(GatewayConfig config, Archive archive, ObjectSource fallback) throws IOException {
    return start(config, archive, fallback, Optional.empty());
  }

  /**
   * @param access where requests for archived NARs are counted; the server closes (and so
   *     flushes) it when it closes
   */
  public static GatewayServer start(GatewayConfig config, Archive archive, ObjectSource fallback,
      Optional<AccessRecorder> access) throws IOException {
    ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    // Rebuilds run on the requests' executor: stopping the server interrupts them too.
    RebuiltNarCache cache = RebuiltNarCache.open(config.cache().dir(), config.cache().maxBytes(),
        config.cache().spoolBytes(), requests);
    GatewayServerInitializer initializer = new GatewayServerInitializer(archive, fallback, config, requests,
        new GatewayMetrics(access), cache, access);
    NettyServer server;
    try {
      server = NettyServer.start(config.bind(), config.limits(), initializer::initChannel, requests::shutdownNow);
    } catch (IOException | RuntimeException e) {
      cache.close();
      access.ifPresent(AccessRecorder::close);
      throw e;
    }
    LOG.info("gateway listening on {}", server.endpoint());
    return new GatewayServer(server, cache, access);
  }

  public URI endpoint() {
    return server.endpoint();
  }

  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  @Override
  public void close() {
    server.close();
    cache.close();
    access.ifPresent(AccessRecorder::close);
  }
}
