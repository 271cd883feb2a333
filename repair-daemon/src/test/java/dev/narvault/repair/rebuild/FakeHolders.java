package dev.narvault.repair.rebuild;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * Holders on loopback speaking the listing, {@code HEAD} and ranged {@code GET} of the holder
 * protocol, each under a path of its own ({@code /h0/v1/fragments...}): what each lists, the
 * bytes it really has, and how it misbehaves. A liar lists fragments it has no bytes of; others
 * ignore the listing's cursor, list malformed ids, list ids made up on the fly, or serve other
 * bytes than a fragment's.
 */
final class FakeHolders implements AutoCloseable {
  /** One holder's state and behaviour. */
  static final class Holder {
    final NavigableSet<String> listed = new ConcurrentSkipListSet<>();
    final Map<String, byte[]> bytes = new ConcurrentHashMap<>();
    /** Served instead of the real bytes (or instead of nothing). */
    final Map<String, byte[]> lies = new ConcurrentHashMap<>();
    /** Every page is the first one, with "more" set: the cursor is ignored. */
    volatile boolean ignoresCursor;
    /** Lists one malformed id after the first page. */
    volatile boolean junkAfterFirstPage;
    /** A listing made up on the fly (after, limit) instead of {@link #listed}. */
    volatile BiFunction<String, Integer, HolderMessages.Listing> generated;
    /** Called with the page number once each page is made, before it is sent. */
    volatile java.util.function.IntConsumer afterPage = n -> { };
    final AtomicInteger pages = new AtomicInteger();
    /** Requests for fragments (GET or HEAD), answered or not. */
    final AtomicInteger asked = new AtomicInteger();
  }

  private final Map<String, Holder> holders = new ConcurrentHashMap<>();
  private final HttpServer server;

  FakeHolders() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.start();
  }

  Holder holder(String name) {
    return holders.computeIfAbsent(name, h -> new Holder());
  }

  String endpoint(String holder) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/" + holder;
  }

  void holds(String holder, String id, byte[] content) {
    lists(holder, id);
    holder(holder).bytes.put(id, content);
  }

  void lists(String holder, String id) {
    holder(holder).listed.add(id);
  }

  private void handle(HttpExchange x) throws IOException {
    try (x) {
      String[] path = x.getRequestURI().getPath().split("/");
      // "", holder, "v1", "fragments"[, id]
      Holder h = holder(path[1]);
      if (path.length == 4) {
        list(x, h);
        return;
      }
      h.asked.incrementAndGet();
      byte[] content = h.lies.getOrDefault(path[4], h.bytes.get(path[4]));
      if (content == null) {
        x.sendResponseHeaders(404, -1);
        return;
      }
      if (x.getRequestMethod().equals("HEAD")) {
        x.getResponseHeaders().set("Content-Length", Integer.toString(content.length));
        x.sendResponseHeaders(200, -1);
        return;
      }
      String[] range = x.getRequestHeaders().getFirst("Range").substring("bytes=".length()).split("-");
      int from = Integer.parseInt(range[0]);
      if (from >= content.length) {
        x.sendResponseHeaders(416, -1);
        return;
      }
      int to = Math.min(content.length - 1, Integer.parseInt(range[1]));
      x.sendResponseHeaders(206, to - from + 1);
      x.getResponseBody().write(content, from, to - from + 1);
    }
  }

  private void list(HttpExchange x, Holder h) throws IOException {
    String query = x.getRequestURI().getQuery();
    String after = query.replaceAll(".*after=([^&]*).*", "$1");
    int limit = Integer.parseInt(query.replaceAll(".*limit=([0-9]*).*", "$1"));
    int page = h.pages.getAndIncrement();
    HolderMessages.Listing listing;
    if (h.generated != null) {
      listing = h.generated.apply(after, limit);
    } else {
      List<String> ids = new ArrayList<>();
      for (String id : h.ignoresCursor ? h.listed : h.listed.tailSet(after, false)) {
        if (ids.size() == limit) {
          break;
        }
        ids.add(id);
      }
      boolean more = h.ignoresCursor || (!ids.isEmpty() && h.listed.higher(ids.getLast()) != null);
      listing = new HolderMessages.Listing(ids, more);
    }
    byte[] body = JsonCodec.toJson(listing);
    if (h.junkAfterFirstPage && page > 0) {
      body = "{\"fragments\":[\"not-an-id\"],\"more\":false}".getBytes(StandardCharsets.UTF_8);
    }
    // Before the answer goes: the client asks for the next page only after this.
    h.afterPage.accept(page);
    x.sendResponseHeaders(200, body.length);
    x.getResponseBody().write(body);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
