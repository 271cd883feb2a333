package dev.narvault.core.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The bootstrap and shutdown every narvault server shares: one acceptor thread, a few I/O
 * threads, every accepted connection tracked so that {@link #close()} stops accepting, closes
 * open connections, and only then stops the threads.
 */
public final class NettyServer implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NettyServer.class);
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Channel channel;
  private final ChannelGroup connections;
  private final Runnable afterClose;

  private NettyServer(EventLoopGroup boss, EventLoopGroup workers, Channel channel, ChannelGroup connections,
      Runnable afterClose) {
    this.boss = boss;
    this.workers = workers;
    this.channel = channel;
    this.connections = connections;
    this.afterClose = afterClose;
  }

  /**
   * Binds {@code address}; each new connection's pipeline is built by {@code pipeline}.
   * {@code afterClose} runs once the connections are closed and the I/O threads stopped (to stop
   * executors the handlers use).
   */
  public static NettyServer start(InetSocketAddress address, Consumer<SocketChannel> pipeline, Runnable afterClose)
      throws IOException {
    return start(address, ServerLimits.defaults(), pipeline, afterClose);
  }

  /**
   * As {@link #start(InetSocketAddress, Consumer, Runnable)}, refusing connections beyond the
   * limits' totals (closed as soon as accepted; nothing is read from them).
   */
  public static NettyServer start(InetSocketAddress address, ServerLimits limits, Consumer<SocketChannel> pipeline,
      Runnable afterClose) throws IOException {
    ConnectionCounter counter = new ConnectionCounter(limits.maxConnections(), limits.maxConnectionsPerAddress());
    EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    try {
      Channel channel = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              InetAddress from = ch.remoteAddress() == null ? null : ch.remoteAddress().getAddress();
              if (!counter.admit(from)) {
                LOG.debug("refused a connection from {}: too many connections", from);
                ch.close();
                return;
              }
              ch.closeFuture().addListener(f -> counter.release(from));
              connections.add(ch);
              pipeline.accept(ch);
            }
          })
          .bind(address).sync().channel();
      return new NettyServer(boss, workers, channel, connections, afterClose);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stop(boss, workers);
      afterClose.run();
      throw new IOException("interrupted while binding " + address, e);
    } catch (RuntimeException e) {
      stop(boss, workers);
      afterClose.run();
      throw new IOException("cannot listen on " + address + ": " + e.getMessage(), e);
    }
  }

  /** Open connections, in total and per address. */
  static final class ConnectionCounter {
    private final int max;
    private final int perAddress;
    private final java.util.concurrent.ConcurrentHashMap<InetAddress, Integer> byAddress =
        new java.util.concurrent.ConcurrentHashMap<>();
    private int total;

    ConnectionCounter(int max, int perAddress) {
      this.max = max;
      this.perAddress = perAddress;
    }

    synchronized boolean admit(InetAddress from) {
      if (total >= max || (from != null && byAddress.getOrDefault(from, 0) >= perAddress)) {
        return false;
      }
      total++;
      if (from != null) {
        byAddress.merge(from, 1, Integer::sum);
      }
      return true;
    }

    synchronized void release(InetAddress from) {
      total--;
      if (from != null) {
        byAddress.computeIfPresent(from, (a, n) -> n <= 1 ? null : n - 1);
      }
    }
  }

  /** Connections open now (accepted and not yet closed). */
  public int openConnections() {
    return connections.size();
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) channel.localAddress();
  }

  /** {@code http://host:port} for the bound address (loopback when bound to the wildcard). */
  public URI endpoint() {
    InetSocketAddress a = address();
    String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
    return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort());
  }

  public void awaitClose() throws InterruptedException {
    channel.closeFuture().sync();
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    // The I/O threads first: their last pipeline events may still go to the handlers' executors.
    stop(boss, workers);
    afterClose.run();
  }

  private static void stop(EventLoopGroup boss, EventLoopGroup workers) {
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    // A quiet period lets closing connections hop between the I/O threads and handler executors
    // until they are done, instead of having their last events rejected.
    workers.shutdownGracefully(100, 2000, TimeUnit.MILLISECONDS).syncUninterruptibly();
  }
}
