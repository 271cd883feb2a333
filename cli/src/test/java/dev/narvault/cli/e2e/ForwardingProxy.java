package dev.narvault.cli.e2e;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A reverse proxy as a CDN node is one, by hand, on one loopback address: it listens there and
 * connects to its backend from there, forwards each request (method, path, end-to-end headers)
 * with its client's address appended to {@code X-Forwarded-For}, and, as an edge node does, may
 * set a client address header (overwriting what the client sent). The answer comes back as the
 * backend gave it. Chain two for a CDN with shielding: client, edge, shield, gateway.
 */
final class ForwardingProxy implements AutoCloseable {
  /** Hop-by-hop headers and those the JDK's client sets itself: never forwarded. */
  private static final Set<String> NOT_FORWARDED = Set.of("connection", "keep-alive", "proxy-connection", "te",
      "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect");

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final HttpClient client;
  private final URI backend;
  private final Optional<String> clientIpHeader;

  private ForwardingProxy(InetAddress address, URI backend, Optional<String> clientIpHeader) throws IOException {
    this.backend = backend;
    this.clientIpHeader = clientIpHeader;
    this.client = HttpClient.newBuilder().localAddress(address).version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    this.server = HttpServer.create(new InetSocketAddress(address, 0), 50);
    server.setExecutor(executor);
    server.createContext("/", this::forward);
    server.start();
  }

  /** A proxy on {@code address} in front of {@code backend}. */
  static ForwardingProxy start(String address, URI backend) throws IOException {
    return new ForwardingProxy(InetAddress.ofLiteral(address), backend, Optional.empty());
  }

  /** An edge: also sets {@code header} to its client's address. */
  static ForwardingProxy edge(String address, URI backend, String header) throws IOException {
    return new ForwardingProxy(InetAddress.ofLiteral(address), backend, Optional.of(header));
  }

  URI endpoint() {
    InetSocketAddress a = server.getAddress();
    return URI.create("http://" + a.getAddress().getHostAddress() + ":" + a.getPort());
  }

  private void forward(HttpExchange exchange) throws IOException {
    try (exchange) {
      String peer = exchange.getRemoteAddress().getAddress().getHostAddress();
      HttpRequest.Builder out = HttpRequest.newBuilder(backend.resolve(exchange.getRequestURI().toString()))
          .timeout(Duration.ofSeconds(30))
          .method(exchange.getRequestMethod(), HttpRequest.BodyPublishers.noBody());
      String forwardedFor = null;
      for (Map.Entry<String, List<String>> h : exchange.getRequestHeaders().entrySet()) {
        String name = h.getKey().toLowerCase(Locale.ROOT);
        if (name.equals("x-forwarded-for")) {
          forwardedFor = String.join(", ", h.getValue());
        } else if (!NOT_FORWARDED.contains(name)
            && !clientIpHeader.map(c -> c.equalsIgnoreCase(name)).orElse(false)) {
          h.getValue().forEach(v -> out.header(h.getKey(), v));
        }
      }
      out.header("X-Forwarded-For", forwardedFor == null ? peer : forwardedFor + ", " + peer);
      clientIpHeader.ifPresent(c -> out.header(c, peer));
      HttpResponse<InputStream> answer;
      try {
        answer = client.send(out.build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      try (InputStream body = answer.body()) {
        for (Map.Entry<String, List<String>> h : answer.headers().map().entrySet()) {
          if (!h.getKey().startsWith(":") && !NOT_FORWARDED.contains(h.getKey().toLowerCase(Locale.ROOT))) {
            h.getValue().forEach(v -> exchange.getResponseHeaders().add(h.getKey(), v));
          }
        }
        long length = answer.headers().firstValueAsLong("Content-Length").orElse(0);
        boolean noBody = exchange.getRequestMethod().equals("HEAD") || answer.statusCode() == 304
            || answer.statusCode() == 204 || length == 0 && answer.headers().firstValue("Content-Length").isPresent();
        exchange.sendResponseHeaders(answer.statusCode(), noBody ? -1 : length);
        if (!noBody) {
          try (OutputStream to = exchange.getResponseBody()) {
            body.transferTo(to);
          }
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    client.close();
    executor.close();
  }
}
