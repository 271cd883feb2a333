package dev.narvault.cli;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.pack.BlockHashes;
import dev.narvault.core.pack.FragmentId;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many lightweight holders in one process, each with its own key and its own loopback address
 * (127.a.b.1: a /24 of its own), speaking the real protocol to a coordinator: they register,
 * heartbeat, prove their endpoints and answer audits' ranged reads with bytes that match the
 * manifests {@link #fragment} made for them. What they do not do is store anything: a
 * fragment's bytes are made again from its seed on every read, so 10^4 holders fit in a few
 * hundred MiB. A holder can be {@linkplain #kill killed}: it then neither heartbeats nor answers
 * (connections are accepted and left unanswered, as a vanished machine's are by a firewall).
 */
final class HolderSwarm implements AutoCloseable {
  /** One lightweight holder. */
  static final class Holder {
    final int index;
    final NixSecretKey key;
    final HolderId id;
    final InetAddress address;
    final URI endpoint;
    volatile boolean dead;
    volatile long diedAtNanos;
    /** The first connection the coordinator opened to this holder after it died (0: none yet). */
    volatile long firstContactAfterDeathNanos;
    final AtomicLong proofs = new AtomicLong();
    final AtomicLong reads = new AtomicLong();
    private long lastMillis;

    private Holder(int index, NixSecretKey key, InetAddress address, int port) {
      this.index = index;
      this.key = key;
      this.id = HolderIdentity.holderId(key.publicKey());
      this.address = address;
      this.endpoint = URI.create("http://" + address.getHostAddress() + ":" + port);
    }

    /** A timestamp newer than any this holder signed before (the coordinator refuses replays). */
    synchronized long nextMillis() {
      lastMillis = Math.max(lastMillis + 1, System.currentTimeMillis());
      return lastMillis;
    }
  }

  /** What a fragment's bytes are made from: its seed, length and block size. */
  private record Content(long seed, long length, int blockSize) {}

  /** An answer from the coordinator: status, body, and how long it took. */
  record Answer(int status, String body, long nanos) {}

  private final EventLoopGroup group;
  private final List<Holder> holders = new ArrayList<>();
  private final Map<InetAddress, Holder> byAddress = new ConcurrentHashMap<>();
  private final Map<String, Content> fragments = new ConcurrentHashMap<>();
  private final List<Channel> listening = new ArrayList<>();
  final AtomicLong auditReads = new AtomicLong();
  final AtomicLong proofsAnswered = new AtomicLong();

  private HolderSwarm(EventLoopGroup group) {
    this.group = group;
  }

  /**
   * Starts {@code count} holders on 127.(1 + i % 126).(i / 126).1, all on one port, with fresh
   * keys: each in a /24 of its own, spread round-robin over 126 /16s. At most 126 × 250 of them.
   */
  static HolderSwarm start(int count, int threads) throws IOException {
    if (count < 1 || count > 250 * 126) {
      throw new IllegalArgumentException("a swarm has 1 to " + 250 * 126 + " holders, not " + count);
    }
    HolderSwarm swarm = new HolderSwarm(new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory()));
    try {
      swarm.listen(count);
    } catch (IOException | RuntimeException e) {
      swarm.close();
      throw e;
    }
    return swarm;
  }

  private void listen(int count) throws IOException {
    ServerBootstrap server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 256).option(ChannelOption.SO_REUSEADDR, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 16), new Serving());
          }
        });
    SecureRandom random = new SecureRandom();
    int port = 0;
    for (int i = 0; i < count; i++) {
      InetAddress address = InetAddress.getByAddress(new byte[] {127, (byte) (1 + i % 126), (byte) (i / 126), 1});
      Channel channel;
      try {
        channel = server.bind(new InetSocketAddress(address, port)).sync().channel();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted binding the swarm", e);
      } catch (Exception e) {
        throw new IOException("cannot listen on " + address.getHostAddress() + ":" + port + ": " + e, e);
      }
      listening.add(channel);
      port = ((InetSocketAddress) channel.localAddress()).getPort();
      Holder h = new Holder(i, NixSecretKey.generate("swarm-holder-" + i, random), address, port);
      holders.add(h);
      byAddress.put(address, h);
    }
  }

  List<Holder> holders() {
    return holders;
  }

  /**
   * Makes fragment {@code index} of a pack for {@code holder}: its bytes come from a seed; returns
   * its block hashes (the manifest's), from which its id derives.
   */
  BlockHashes fragment(long seed, long length, int blockSize) {
    int blocks = Math.toIntExact(Math.ceilDiv(length, (long) blockSize));
    byte[] hashes = new byte[blocks * Sha256Hash.LENGTH];
    for (int b = 0; b < blocks; b++) {
      byte[] bytes = block(seed, b, (int) Math.min(blockSize, length - (long) b * blockSize));
      System.arraycopy(Sha256Hash.of(bytes).bytes(), 0, hashes, b * Sha256Hash.LENGTH, Sha256Hash.LENGTH);
    }
    BlockHashes blockHashes = new BlockHashes(hashes);
    fragments.put(blockHashes.fragmentId(length, blockSize).hex(), new Content(seed, length, blockSize));
    return blockHashes;
  }

  private static byte[] block(long seed, int block, int length) {
    byte[] bytes = new byte[length];
    new SplittableRandom(seed * 0x9E3779B97F4A7C15L + block).nextBytes(bytes);
    return bytes;
  }

  /** Bytes [offset, offset + length) of a fragment made by {@link #fragment}, or null if unknown or out of range. */
  private byte[] read(String fragmentId, long offset, long length) {
    Content c = fragments.get(fragmentId);
    if (c == null || offset < 0 || length < 1 || offset + length > c.length() || length > 1 << 20) {
      return null;
    }
    byte[] out = new byte[(int) length];
    long at = offset;
    while (at < offset + length) {
      int b = (int) (at / c.blockSize());
      long blockStart = (long) b * c.blockSize();
      byte[] bytes = block(c.seed(), b, (int) Math.min(c.blockSize(), c.length() - blockStart));
      int from = (int) (at - blockStart);
      int n = (int) Math.min(bytes.length - from, offset + length - at);
      System.arraycopy(bytes, from, out, (int) (at - offset), n);
      at += n;
    }
    return out;
  }

  /** The holder stops heartbeating and answering, from now on. */
  void kill(Holder h) {
    h.diedAtNanos = System.nanoTime();
    h.dead = true;
  }

  /** {@code POST /v1/register} for this holder, from its own address. */
  CompletableFuture<Answer> register(Holder h, URI coordinator, long capacityBytes) {
    HolderMessages.Registration m = new HolderMessages.Registration(HolderMessages.Registration.TYPE, h.id.value(),
        h.nextMillis(), h.key.publicKey().toString(), h.endpoint.toString(), capacityBytes, 0, 0, "swarm",
        "swarm-" + h.index, "");
    return post(h, coordinator, "/v1/register", JsonCodec.toJson(m));
  }

  /** {@code POST /v1/heartbeat} for this holder, from its own address. */
  CompletableFuture<Answer> heartbeat(Holder h, URI coordinator) {
    HolderMessages.Heartbeat m = new HolderMessages.Heartbeat(HolderMessages.Heartbeat.TYPE, h.id.value(),
        h.nextMillis(), 0, 0, "swarm");
    return post(h, coordinator, "/v1/heartbeat", JsonCodec.toJson(m));
  }

  private CompletableFuture<Answer> post(Holder h, URI coordinator, String path, byte[] body) {
    CompletableFuture<Answer> answer = new CompletableFuture<>();
    long start = System.nanoTime();
    Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20),
                new SimpleChannelInboundHandler<FullHttpResponse>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse r) {
                    answer.complete(new Answer(r.status().code(), r.content().toString(StandardCharsets.UTF_8),
                        System.nanoTime() - start));
                    ctx.close();
                  }

                  @Override
                  public void channelInactive(ChannelHandlerContext ctx) {
                    answer.completeExceptionally(new IOException("connection closed before an answer"));
                  }

                  @Override
                  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                    answer.completeExceptionally(cause);
                    ctx.close();
                  }
                });
          }
        });
    b.connect(new InetSocketAddress(coordinator.getHost(), coordinator.getPort()), new InetSocketAddress(h.address, 0))
        .addListener((ChannelFutureListener) f -> {
          if (!f.isSuccess()) {
            answer.completeExceptionally(f.cause());
            return;
          }
          FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
              Unpooled.wrappedBuffer(body));
          request.headers().set(HttpHeaderNames.HOST, coordinator.getHost() + ":" + coordinator.getPort())
              .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
              .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
              .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
              .set(SignedMessages.HEADER, SignedMessages.sign(body, h.key));
          f.channel().writeAndFlush(request);
          // A coordinator that never answers must not hold the bench: 30 s, like a holder's own client.
          f.channel().eventLoop().schedule(() -> {
            if (answer.completeExceptionally(new IOException("no answer in 30 s"))) {
              f.channel().close();
            }
          }, 30, TimeUnit.SECONDS);
        });
    return answer;
  }

  /** A holder's side of the protocol, as much of it as a coordinator uses: proofs and ranged reads. */
  private final class Serving extends SimpleChannelInboundHandler<FullHttpRequest> {
    private Holder holder;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      SocketAddress local = ctx.channel().localAddress();
      holder = local instanceof InetSocketAddress a ? byAddress.get(a.getAddress()) : null;
      if (holder == null) {
        ctx.close();
        return;
      }
      if (holder.dead) {
        hang(ctx);
        return;
      }
      ctx.fireChannelActive();
    }

    /** A vanished machine: the connection hangs, unanswered, until the coordinator gives up. */
    private void hang(ChannelHandlerContext ctx) {
      if (holder.firstContactAfterDeathNanos == 0) {
        holder.firstContactAfterDeathNanos = System.nanoTime();
      }
      ctx.channel().config().setAutoRead(false);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
      if (holder.dead) {
        // A request on a connection kept alive from before it died.
        hang(ctx);
        return;
      }
      String path = request.uri();
      FullHttpResponse response;
      if (request.method().equals(HttpMethod.POST) && path.equals("/v1/prove")) {
        response = prove(request);
      } else if (request.method().equals(HttpMethod.GET) && path.startsWith("/v1/fragments/")) {
        response = fragment(request, path.substring("/v1/fragments/".length()));
      } else {
        response = text(HttpResponseStatus.NOT_FOUND, "not a swarm holder's endpoint");
      }
      boolean keepAlive = HttpUtil.isKeepAlive(request);
      HttpUtil.setKeepAlive(response, keepAlive);
      var written = ctx.writeAndFlush(response);
      if (!keepAlive) {
        written.addListener(ChannelFutureListener.CLOSE);
      }
    }

    private FullHttpResponse prove(FullHttpRequest request) {
      byte[] json = new byte[request.content().readableBytes()];
      request.content().readBytes(json);
      HolderMessages.EndpointChallenge challenge;
      try {
        challenge = JsonCodec.parse(json, HolderMessages.EndpointChallenge.class);
      } catch (IllegalArgumentException e) {
        return text(HttpResponseStatus.BAD_REQUEST, e.getMessage());
      }
      byte[] proof = JsonCodec.toJson(new HolderMessages.EndpointProof(HolderMessages.EndpointProof.TYPE,
          holder.id.value(), System.currentTimeMillis(), challenge.nonce(), challenge.endpoint()));
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
          Unpooled.wrappedBuffer(proof));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json").set(HttpHeaderNames.CONTENT_LENGTH, proof.length)
          .set(SignedMessages.HEADER, SignedMessages.sign(proof, holder.key));
      holder.proofs.incrementAndGet();
      proofsAnswered.incrementAndGet();
      return r;
    }

    private FullHttpResponse fragment(FullHttpRequest request, String id) {
      String range = request.headers().get(HttpHeaderNames.RANGE, "");
      var m = java.util.regex.Pattern.compile("bytes=(\\d{1,15})-(\\d{1,15})").matcher(range);
      if (!m.matches()) {
        return text(HttpResponseStatus.BAD_REQUEST, "a swarm holder answers ranged reads only");
      }
      long first = Long.parseLong(m.group(1));
      long last = Long.parseLong(m.group(2));
      byte[] bytes;
      try {
        new FragmentId(id);
        bytes = read(id, first, last - first + 1);
      } catch (IllegalArgumentException e) {
        bytes = null;
      }
      if (bytes == null) {
        return text(HttpResponseStatus.NOT_FOUND, "no such fragment or range");
      }
      holder.reads.incrementAndGet();
      auditReads.incrementAndGet();
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PARTIAL_CONTENT,
          Unpooled.wrappedBuffer(bytes));
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
          .set(HttpHeaderNames.CONTENT_RANGE, "bytes " + first + "-" + last + "/*");
      return r;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  private static FullHttpResponse text(HttpResponseStatus status, String message) {
    byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8").set(HttpHeaderNames.CONTENT_LENGTH,
        body.length);
    return r;
  }

  @Override
  public void close() {
    for (Channel c : listening) {
      c.close();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
