package dev.narvault.core.holder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Talks HTTP/1.1 to holders: {@code PUT}, ranged {@code GET} and {@code HEAD} on
 * {@code /v1/fragments/{id}}. Every failure (refused connection, timeout, unexpected status, short
 * body) is an {@link IOException} naming the holder.
 */
public final class HolderClient {
  /** Never read more than this from a holder into memory in one call. */
  public static final int MAX_READ = 64 << 20;

  private final HttpClient http;
  private final Duration timeout;

  public HolderClient(Duration timeout) {
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(timeout).build();
    this.timeout = timeout;
  }

  public static URI fragmentUri(URI endpoint, FragmentId id) {
    String base = endpoint.toString().endsWith("/") ? endpoint.toString() : endpoint + "/";
    return URI.create(base + "v1/fragments/" + id.hex());
  }

  /**
   * Uploads a fragment file under the coordinator's signed order; the holder checks the order and
   * then the id against the bytes with this block size.
   */
  public void put(URI endpoint, FragmentId id, int blockSize, Path file, Order.Signed order) throws IOException {
    put(endpoint, id, blockSize, FragmentBytes.of(file), order);
  }

  /** Uploads a fragment from wherever its bytes are (a file, or a slice of a pack file). */
  public void put(URI endpoint, FragmentId id, int blockSize, FragmentBytes bytes, Order.Signed order)
      throws IOException {
    URI uri = URI.create(fragmentUri(endpoint, id) + "?blockSize=" + blockSize);
    HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
        HttpRequest.BodyPublishers.ofInputStream(() -> {
          try {
            return bytes.open();
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }), bytes.size());
    HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout.multipliedBy(10))
        .header(Order.HEADER, order.order().text()).header(Order.SIGNATURE_HEADER, order.signature())
        .PUT(body).build();
    HttpResponse<String> response = send(request, HttpResponse.BodyHandlers.ofString(), endpoint);
    if (response.statusCode() != 200 && response.statusCode() != 201) {
      throw new IOException("holder " + endpoint + " refused fragment " + id + ": HTTP "
          + response.statusCode() + " " + response.body().strip());
    }
  }

  /** Deletes a fragment under the coordinator's signed order; false when the holder did not have it. */
  public boolean delete(URI endpoint, FragmentId id, Order.Signed order) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(fragmentUri(endpoint, id)).timeout(timeout)
        .header(Order.HEADER, order.order().text()).header(Order.SIGNATURE_HEADER, order.signature())
        .DELETE().build();
    HttpResponse<String> response = send(request, HttpResponse.BodyHandlers.ofString(), endpoint);
    if (response.statusCode() == 404) {
      return false;
    }
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " refused to delete " + id + ": HTTP " + response.statusCode()
          + " " + response.body().strip());
    }
    return true;
  }

  /** The holder's status document (holderId, publicKey, capacity, use, version). */
  public JsonNode status(URI endpoint) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/status")).timeout(timeout).GET().build();
    HttpResponse<String> response = send(request, HttpResponse.BodyHandlers.ofString(), endpoint);
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to status");
    }
    return new ObjectMapper().readTree(response.body());
  }

  /** Asks the holder to answer an audit challenge; returns its answer (hex). */
  public String audit(URI endpoint, AuditChallenge challenge) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/audit")).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(challenge.toJson())).build();
    HttpResponse<String> response = send(request, HttpResponse.BodyHandlers.ofString(), endpoint);
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to an audit: "
          + response.body().strip());
    }
    JsonNode hash = new ObjectMapper()
        .readTree(response.body()).get("hash");
    if (hash == null || !hash.isTextual()) {
      throw new IOException("holder " + endpoint + " sent a malformed audit answer");
    }
    return hash.asText();
  }

  /** Reads exactly {@code length} bytes at {@code offset}; anything else is an IOException. */
  public byte[] read(URI endpoint, FragmentId id, long offset, int length) throws IOException {
    if (length < 1 || length > MAX_READ || offset < 0) {
      throw new IllegalArgumentException("bad read " + offset + "+" + length);
    }
    HttpRequest request = HttpRequest.newBuilder(fragmentUri(endpoint, id)).timeout(timeout)
        .header("Range", "bytes=" + offset + "-" + (offset + length - 1)).GET().build();
    HttpResponse<InputStream> response = send(request, HttpResponse.BodyHandlers.ofInputStream(), endpoint);
    try (InputStream body = response.body()) {
      if (response.statusCode() != 206) {
        throw new HolderRefusedException(response.statusCode(), "holder " + endpoint + " answered HTTP "
            + response.statusCode() + " for fragment " + id + " range " + offset + "+" + length);
      }
      byte[] bytes = body.readNBytes(length);
      if (bytes.length != length) {
        throw new IOException("holder " + endpoint + " sent " + bytes.length + " of " + length + " bytes of " + id);
      }
      return bytes;
    }
  }

  /** One page of a holder's fragment listing. */
  public record Listing(List<FragmentId> fragments, boolean more) {}

  /** The ids of the fragments a holder stores, in order, after {@code after} (empty: from the start). */
  public Listing list(URI endpoint, String after, int limit) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/fragments?after=" + after + "&limit=" + limit))
        .timeout(timeout).GET().build();
    HttpResponse<InputStream> response = send(request, HttpResponse.BodyHandlers.ofInputStream(), endpoint);
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        throw new HolderRefusedException(response.statusCode(), "holder " + endpoint + " answered HTTP "
            + response.statusCode() + " to a listing");
      }
      byte[] bytes = body.readNBytes(limit * 70 + 1024);
      JsonNode json = new ObjectMapper().readTree(bytes);
      List<FragmentId> ids = new ArrayList<>();
      for (JsonNode id : json.path("fragments")) {
        try {
          ids.add(new FragmentId(id.asText()));
        } catch (IllegalArgumentException e) {
          throw new IOException("holder " + endpoint + " listed a malformed fragment id", e);
        }
      }
      if (ids.size() > limit) {
        throw new IOException("holder " + endpoint + " listed more than " + limit + " fragments");
      }
      return new Listing(ids, json.path("more").asBoolean(false));
    }
  }

  /** The stored length of a fragment, or -1 when the holder does not have it. */
  public long size(URI endpoint, FragmentId id) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(fragmentUri(endpoint, id)).timeout(timeout)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
    HttpResponse<Void> response = send(request, HttpResponse.BodyHandlers.discarding(), endpoint);
    if (response.statusCode() == 404) {
      return -1;
    }
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to HEAD " + id);
    }
    return response.headers().firstValueAsLong("Content-Length")
        .orElseThrow(() -> new IOException("holder " + endpoint + " sent no Content-Length for " + id));
  }

  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI endpoint)
      throws IOException {
    try {
      return http.send(request, handler);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted talking to holder " + endpoint, e);
    } catch (IOException e) {
      throw new IOException("holder " + endpoint + " unreachable: " + e, e);
    }
  }
}
