package dev.narvault.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A holder's distance from the gateway, for the benchmarks: a TCP relay in front of it that holds
 * every byte for half a round trip in each direction, as a volunteer's link across the internet
 * would. Bandwidth is not limited here (the holder caps its own uploads, as volunteers do); only
 * latency is added. Each direction keeps at most {@value #QUEUED} reads in its delay line, so a
 * reader that stops reading stops the sender as a real link would.
 */
final class BenchLink implements AutoCloseable {
  private static final int BUFFER = 64 * 1024;
  private static final int QUEUED = 256;

  private final ServerSocket server;
  private final long halfTripNanos;
  private final AtomicReference<InetSocketAddress> target = new AtomicReference<>();
  private final ConcurrentHashMap.KeySetView<Socket, Boolean> open = ConcurrentHashMap.newKeySet();

  private BenchLink(ServerSocket server, long roundTripMillis) {
    this.server = server;
    this.halfTripNanos = TimeUnit.MILLISECONDS.toNanos(roundTripMillis) / 2;
  }

  /** Listens on {@code bind} (port 0: any); {@link #connectTo} names the holder behind it. */
  static BenchLink listen(InetSocketAddress bind, long roundTripMillis) throws IOException {
    if (roundTripMillis < 0) {
      throw new IllegalArgumentException("round trip must be >= 0 ms, got " + roundTripMillis);
    }
    ServerSocket server = new ServerSocket();
    server.bind(bind);
    BenchLink link = new BenchLink(server, roundTripMillis);
    Thread.ofVirtual().name("bench-link-accept").start(link::accept);
    return link;
  }

  /** The address clients connect to: the holder, a round trip away. */
  URI endpoint() {
    return URI.create("http://" + server.getInetAddress().getHostAddress() + ":" + server.getLocalPort());
  }

  void connectTo(URI holder) {
    target.set(new InetSocketAddress(holder.getHost(), holder.getPort()));
  }

  private void accept() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return;
      }
      Thread.ofVirtual().start(() -> relay(client));
    }
  }

  private void relay(Socket client) {
    InetSocketAddress to = target.get();
    Socket holder = new Socket();
    open.add(client);
    open.add(holder);
    try (client; holder) {
      if (to == null) {
        return;
      }
      holder.connect(to, 10_000);
      client.setTcpNoDelay(true);
      holder.setTcpNoDelay(true);
      Thread up = Thread.ofVirtual().start(() -> delay(client, holder));
      delay(holder, client);
      up.join();
    } catch (IOException | InterruptedException e) {
      // The connection ends as the link's would: closed.
    } finally {
      open.remove(client);
      open.remove(holder);
    }
  }

  /** Bytes read at time t leave {@code from} for {@code to} at t + half the round trip. */
  private void delay(Socket from, Socket to) {
    BlockingQueue<Packet> line = new ArrayBlockingQueue<>(QUEUED);
    Thread sender = Thread.ofVirtual().start(() -> {
      try {
        OutputStream out = to.getOutputStream();
        while (true) {
          Packet p = line.take();
          if (p.bytes() == null) {
            to.shutdownOutput();
            return;
          }
          long wait = p.due() - System.nanoTime();
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
          out.write(p.bytes());
        }
      } catch (IOException | InterruptedException e) {
        closeQuietly(from);
        closeQuietly(to);
      }
    });
    try {
      InputStream in = from.getInputStream();
      byte[] buffer = new byte[BUFFER];
      int n;
      while ((n = in.read(buffer)) >= 0) {
        line.put(new Packet(Arrays.copyOf(buffer, n), System.nanoTime() + halfTripNanos));
      }
      line.put(new Packet(null, 0));
      sender.join();
    } catch (IOException | InterruptedException e) {
      sender.interrupt();
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private record Packet(byte[] bytes, long due) {}

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closeQuietly(server);
    open.forEach(BenchLink::closeQuietly);
  }

  private static void closeQuietly(ServerSocket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing anyway
    }
  }
}
