package dev.narvault.holder.server;

import dev.narvault.core.http.NettyServer;
import dev.narvault.holder.store.DiskFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import io.netty.util.concurrent.DefaultEventExecutorGroup;
import io.netty.util.concurrent.EventExecutorGroup;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts and stops a holder: the store, the disk-work executors, the listening socket. */
public final class HolderServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HolderServer.class);

  private final NettyServer server;
  private final FragmentStore store;

  private HolderServer(NettyServer server, FragmentStore store) {
    this.server = server;
    this.store = store;
  }

  public static HolderServer start(HolderConfig config) throws IOException {
    return start(config, DiskFragmentStore.open(config.dataDir(), config.capacityBytes()));
  }

  /** Starts on an existing store (tests wrap the disk store to inject faults). */
  public static HolderServer start(HolderConfig config, FragmentStore store) throws IOException {
    EventExecutorGroup blocking = new DefaultEventExecutorGroup(4);
    HolderServerInitializer initializer = new HolderServerInitializer(store, blocking, Instant.now());
    NettyServer server = NettyServer.start(config.bind(), initializer::initChannel,
        () -> blocking.shutdownGracefully(250, 3000, TimeUnit.MILLISECONDS).syncUninterruptibly());
    HolderServer holder = new HolderServer(server, store);
    LOG.info("holder listening on {}, data in {}, capacity {} bytes, {} fragments stored",
        server.endpoint(), config.dataDir(), config.capacityBytes(), store.fragmentCount());
    return holder;
  }

  public InetSocketAddress address() {
    return server.address();
  }

  /** The URL clients use, e.g. {@code http://127.0.0.1:7001}. */
  public URI endpoint() {
    return server.endpoint();
  }

  public FragmentStore store() {
    return store;
  }

  /** Blocks until the server stops. */
  public void awaitClose() throws InterruptedException {
    server.awaitClose();
  }

  /** Stops accepting, closes connections (cutting transfers in flight), stops the threads. */
  @Override
  public void close() {
    server.close();
    LOG.info("holder on {} stopped", address());
  }
}
