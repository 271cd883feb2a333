package dev.narvault.core.holder;

import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Talks HTTP/1.1 to holders: {@code PUT}, ranged {@code GET}, {@code HEAD}, {@code DELETE} and
 * restore on {@code /v1/fragments/{id}}, listings, status, audits and endpoint proofs. Every failure (refused connection, timeout, unexpected status, short
 * body) is an {@link IOException} naming the holder.
 *
 * <p>Holders are strangers. Every exchange has a deadline for the whole of it, body included (the
 * HTTP client's own timeout stops at the headers), and no answer is read beyond what was asked
 * for: a holder that trickles, stalls or sends too much is a failed call, and the caller moves on.
 */
public final class HolderClient {
  /** Never read more than this from a holder into memory in one call. */
  public static final int MAX_READ = 64 << 20;
  /**
   * A holder taking or sending a fragment slower than this is treated as failing (bytes per
   * second): 256 KiB/s, about 2 Mbit/s.
   */
  static final long MIN_READ_RATE = 256 * 1024;
  /**
   * Fragments from this size on go by {@link FragmentPut} (a socket of their own, the body by
   * sendfile); smaller ones over the HTTP client's kept-alive connections, where a new connection
   * would cost more than the copy it saves.
   */
  static final long MIN_SENDFILE = 64 * 1024;
  /** Status lines, errors, audit answers: small JSON or text. */
  static final int MAX_SMALL_ANSWER = 64 * 1024;
  /** An endpoint proof is a few hundred bytes of JSON; its error text is held to the same bound. */
  static final int MAX_PROOF_ANSWER = 16 * 1024;

  private final HttpClient http;
  /** Fragment reads: the hot path, on sockets of their own (see {@link RangeConnections}). */
  private final RangeConnections ranges;
  private final Duration timeout;

  public HolderClient(Duration timeout) {
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(timeout).build();
    this.ranges = new RangeConnections(timeout);
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
    // The upload may go at the slowest rate still worth waiting for, and the holder must then answer.
    Duration deadline = timeout.plusMillis(bytes.size() * 1000L / MIN_READ_RATE);
    if (deadline.compareTo(timeout.multipliedBy(10)) < 0) {
      deadline = timeout.multipliedBy(10);
    }
    if ("http".equalsIgnoreCase(uri.getScheme()) && bytes.size() >= MIN_SENDFILE) {
      FragmentPut.Answer answer;
      try {
        answer = FragmentPut.put(uri, Map.of(Order.HEADER, order.order().text(), Order.SIGNATURE_HEADER,
            order.signature()), bytes, timeout.toMillis(), deadline.toMillis(), MAX_SMALL_ANSWER);
      } catch (FragmentPut.DeadlineException e) {
        throw new IOException("holder " + endpoint + " did not take fragment " + id + " and answer within "
            + deadline.toMillis() + " ms", e);
      } catch (FragmentBytes.SourceException e) {
        throw new IOException("fragment " + id + " for holder " + endpoint + ": " + e.getMessage(), e);
      } catch (InterruptedIOException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw e;
        }
        // A connect that timed out (SocketTimeoutException is an InterruptedIOException too).
        throw new IOException("holder " + endpoint + " unreachable: " + e, e);
      } catch (IOException e) {
        throw new IOException("holder " + endpoint + " unreachable: " + e, e);
      }
      if (answer.status() != 200 && answer.status() != 201) {
        throw new IOException("holder " + endpoint + " refused fragment " + id + ": HTTP " + answer.status() + " "
            + answer.text().strip());
      }
      return;
    }
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
    HttpResponse<String> response = send(request, text(), endpoint, deadline);
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
    HttpResponse<String> response = send(request, text(), endpoint, timeout);
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
  public HolderMessages.Status status(URI endpoint) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/status")).timeout(timeout).GET().build();
    HttpResponse<String> response = send(request, text(), endpoint, timeout);
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to status");
    }
    // Informative only, so read tolerantly: a newer holder's extra fields do not make it unreadable.
    try {
      return JsonCodec.parseTolerant(response.body().getBytes(StandardCharsets.UTF_8), HolderMessages.Status.class);
    } catch (IllegalArgumentException e) {
      throw new IOException("holder " + endpoint + " sent a malformed status: " + e.getMessage(), e);
    }
  }

  /** Asks the holder to answer an audit challenge; returns its answer (hex). */
  public String audit(URI endpoint, AuditChallenge challenge) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/audit")).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(challenge.toJson())).build();
    HttpResponse<String> response = send(request, text(), endpoint, timeout);
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to an audit: "
          + response.body().strip());
    }
    return parse(endpoint, response.body().getBytes(StandardCharsets.UTF_8), HolderMessages.AuditAnswer.class).hash();
  }

  /**
   * Brings a trashed fragment back into service under the coordinator's signed {@code restore}
   * order ({@code POST /v1/fragments/{id}/restore}); the holder re-verifies the bytes against the
   * id before it serves them again.
   *
   * @return true when the holder stores the fragment now (restored, or it was stored already),
   *     false when it was not in the holder's trash (404)
   * @throws HolderRefusedException for any other answer: 403 (order refused), 409 (the trashed
   *     copy was corrupt, and is gone), 507 (no room)
   */
  public boolean restore(URI endpoint, FragmentId id, Order.Signed order) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(fragmentUri(endpoint, id) + "/restore"))
        .timeout(timeout).header(Order.HEADER, order.order().text())
        .header(Order.SIGNATURE_HEADER, order.signature()).POST(HttpRequest.BodyPublishers.noBody()).build();
    // The holder hashes the fragment before it answers: a local read, well within the timeout.
    HttpResponse<String> response = send(request, text(), endpoint, timeout);
    if (response.statusCode() == 404) {
      return false;
    }
    if (response.statusCode() != 200) {
      throw new HolderRefusedException(response.statusCode(), "holder " + endpoint + " refused to restore " + id
          + ": HTTP " + response.statusCode() + " " + response.body().strip());
    }
    return true;
  }

  /**
   * Asks the holder at {@code endpoint} to prove that the holder of {@code expectedKey} answers
   * there ({@code POST /v1/prove}): the answer must be an endpoint proof signed by that key over
   * its exact bytes, from that key's holder id, echoing {@code nonce} and {@code endpoint}.
   *
   * @param nonce 64 lowercase hex digits, fresh for each challenge
   * @param seenAddress the address the caller connects to, told to the holder (may be empty)
   * @return the verified proof (its timestamp is the holder's clock, for the caller to judge)
   * @throws HolderRefusedException when the holder answers another status than 200
   * @throws IOException when it cannot be reached in time, answers more than
   *     {@value #MAX_PROOF_ANSWER} bytes, or its proof is unsigned, does not verify, or names
   *     another holder, nonce or endpoint
   */
  public HolderMessages.EndpointProof proveEndpoint(URI endpoint, String nonce, String seenAddress,
      NixPublicKey expectedKey) throws IOException {
    HolderMessages.EndpointChallenge challenge = new HolderMessages.EndpointChallenge(
        HolderMessages.EndpointChallenge.TYPE, nonce, endpoint.toString(), seenAddress);
    String base = endpoint.toString().endsWith("/") ? endpoint.toString() : endpoint + "/";
    HttpRequest request = HttpRequest.newBuilder(URI.create(base + "v1/prove")).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(JsonCodec.toJson(challenge))).build();
    HttpResponse<byte[]> response = send(request, info -> new CappedBody(MAX_PROOF_ANSWER), endpoint, timeout);
    byte[] body = response.body();
    if (response.statusCode() != 200) {
      throw new HolderRefusedException(response.statusCode(), "holder " + endpoint + " answered HTTP "
          + response.statusCode() + " to an endpoint challenge: " + new String(body, StandardCharsets.UTF_8).strip());
    }
    String signature = response.headers().firstValue(SignedMessages.HEADER).orElse(null);
    if (signature == null) {
      throw new IOException("holder " + endpoint + " sent an endpoint proof without " + SignedMessages.HEADER);
    }
    if (!SignedMessages.verify(body, signature, expectedKey)) {
      throw new IOException("holder " + endpoint + " sent an endpoint proof that does not verify with key "
          + expectedKey);
    }
    HolderMessages.EndpointProof proof = parse(endpoint, body, HolderMessages.EndpointProof.class);
    String holderId = HolderIdentity.holderId(expectedKey).value();
    if (!proof.holderId().equals(holderId)) {
      throw new IOException("holder " + endpoint + " proved holder id " + proof.holderId() + ", the key's is "
          + holderId);
    }
    if (!proof.nonce().equals(nonce)) {
      throw new IOException("holder " + endpoint + " answered another challenge (nonce " + proof.nonce() + ")");
    }
    if (!proof.endpoint().equals(challenge.endpoint())) {
      throw new IOException("holder " + endpoint + " proved another endpoint: " + proof.endpoint());
    }
    return proof;
  }

  /** Reads exactly {@code length} bytes at {@code offset}; anything else is an IOException. */
  public byte[] read(URI endpoint, FragmentId id, long offset, int length) throws IOException {
    return read(endpoint, id, offset, length, Map.of());
  }

  /**
   * Reads as {@link #read(URI, FragmentId, long, int)}, for the coordinator's audit: the signed
   * {@code audit} order (for this fragment and holder, of {@code length} bytes) goes with the
   * request, so the holder neither counts the read against its monthly upload quota nor refuses
   * it for that quota.
   */
  public byte[] auditRead(URI endpoint, FragmentId id, long offset, int length, Order.Signed order)
      throws IOException {
    if (order.order().action() != Order.Action.AUDIT || !order.order().fragmentId().equals(id)
        || order.order().size() != length) {
      throw new IllegalArgumentException("not an audit order for " + length + " bytes of " + id + ": "
          + order.order().text());
    }
    return read(endpoint, id, offset, length, Map.of(Order.HEADER, order.order().text(),
        Order.SIGNATURE_HEADER, order.signature()));
  }

  /**
   * The first bytes of a fragment, at most {@code max} of them: fewer when the fragment is
   * shorter. A catalog rebuild tells signed documents from other fragments by them, and a
   * fragment shorter than a document's first bytes is simply not one.
   */
  public byte[] readStart(URI endpoint, FragmentId id, int max) throws IOException {
    return read(endpoint, id, 0, max, Map.of(), false);
  }

  private byte[] read(URI endpoint, FragmentId id, long offset, int length, Map<String, String> headers)
      throws IOException {
    return read(endpoint, id, offset, length, headers, true);
  }

  private byte[] read(URI endpoint, FragmentId id, long offset, int length, Map<String, String> headers,
      boolean exactly) throws IOException {
    if (length < 1 || length > MAX_READ || offset < 0) {
      throw new IllegalArgumentException("bad read " + offset + "+" + length);
    }
    // Time to answer, plus the time the range takes at the slowest rate still worth waiting for.
    Duration deadline = timeout.plusMillis(length * 1000L / MIN_READ_RATE);
    RangeConnections.Answer answer;
    try {
      answer = ranges.get(fragmentUri(endpoint, id), offset, length, headers, System.nanoTime() + deadline.toNanos(),
          MAX_SMALL_ANSWER);
    } catch (RangeConnections.DeadlineException e) {
      throw new IOException("holder " + endpoint + " did not answer GET fragment " + id + " range " + offset + "+"
          + length + " whole within " + deadline.toMillis() + " ms");
    } catch (RangeConnections.TooLongException | RangeConnections.ShortBodyException e) {
      throw new IOException("holder " + endpoint + " " + e.getMessage() + " of " + id, e);
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      throw new IOException("holder " + endpoint + " unreachable: " + e, e);
    }
    if (answer.status() != 206) {
      throw new HolderRefusedException(answer.status(), "holder " + endpoint + " answered HTTP "
          + answer.status() + " for fragment " + id + " range " + offset + "+" + length);
    }
    byte[] bytes = answer.body();
    if (bytes.length != length && (exactly || bytes.length == 0)) {
      throw new IOException("holder " + endpoint + " sent " + bytes.length + " of " + length + " bytes of " + id);
    }
    return bytes;
  }

  /** A holder's answer as a message; a malformed one is the holder's failure, an IOException. */
  private static <T> T parse(URI endpoint, byte[] body, Class<T> type) throws IOException {
    try {
      return JsonCodec.parse(body, type);
    } catch (IllegalArgumentException e) {
      throw new IOException("holder " + endpoint + " sent a malformed answer: " + e.getMessage(), e);
    }
  }

  /** One page of a holder's fragment listing. */
  public record Listing(List<FragmentId> fragments, boolean more) {}

  /** The ids of the fragments a holder stores, in order, after {@code after} (empty: from the start). */
  public Listing list(URI endpoint, String after, int limit) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint + "/v1/fragments?after=" + after + "&limit=" + limit))
        .timeout(timeout).GET().build();
    HttpResponse<byte[]> response = send(request, capped(limit * 70L + 1024), endpoint, timeout);
    {
      if (response.statusCode() != 200) {
        throw new HolderRefusedException(response.statusCode(), "holder " + endpoint + " answered HTTP "
            + response.statusCode() + " to a listing");
      }
      HolderMessages.Listing listing = parse(endpoint, response.body(), HolderMessages.Listing.class);
      List<FragmentId> ids = new ArrayList<>();
      for (String id : listing.fragments()) {
        try {
          ids.add(new FragmentId(id));
        } catch (IllegalArgumentException e) {
          throw new IOException("holder " + endpoint + " listed a malformed fragment id", e);
        }
      }
      if (ids.size() > limit) {
        throw new IOException("holder " + endpoint + " listed more than " + limit + " fragments");
      }
      return new Listing(ids, listing.more());
    }
  }

  /** The stored length of a fragment, or -1 when the holder does not have it. */
  public long size(URI endpoint, FragmentId id) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(fragmentUri(endpoint, id)).timeout(timeout)
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build();
    HttpResponse<byte[]> response = send(request, capped(0), endpoint, timeout);
    if (response.statusCode() == 404) {
      return -1;
    }
    if (response.statusCode() != 200) {
      throw new IOException("holder " + endpoint + " answered HTTP " + response.statusCode() + " to HEAD " + id);
    }
    return response.headers().firstValueAsLong("Content-Length")
        .orElseThrow(() -> new IOException("holder " + endpoint + " sent no Content-Length for " + id));
  }

  /**
   * One exchange, body included, within {@code deadline}; past it the exchange is cancelled (its
   * connection closed) and the call fails.
   */
  private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI endpoint,
      Duration deadline) throws IOException {
    CompletableFuture<HttpResponse<T>> exchange = http.sendAsync(request, handler);
    try {
      return exchange.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      exchange.cancel(true);
      throw new IOException("holder " + endpoint + " did not answer " + request.method() + " "
          + request.uri().getRawPath() + " whole within " + deadline.toMillis() + " ms");
    } catch (InterruptedException e) {
      exchange.cancel(true);
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted talking to holder " + endpoint);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Error error) {
        // This process's trouble (out of memory, say), not the holder's.
        throw error;
      }
      if (cause instanceof AnswerTooLongException tooLong) {
        throw new IOException("holder " + endpoint + " " + tooLong.getMessage(), tooLong);
      }
      throw new IOException("holder " + endpoint + " unreachable: " + cause, cause);
    }
  }

  /** A small text answer (status, errors, audit answers), refused beyond {@value #MAX_SMALL_ANSWER} bytes. */
  private static HttpResponse.BodyHandler<String> text() {
    return info -> HttpResponse.BodySubscribers.mapping(new CappedBody(MAX_SMALL_ANSWER),
        bytes -> new String(bytes, StandardCharsets.UTF_8));
  }

  /**
   * The answer's bytes, at most {@code max} of them for a success (an error's text: at most
   * {@value #MAX_SMALL_ANSWER}); more is a failure, found as soon as the header or the bytes say so.
   */
  static HttpResponse.BodyHandler<byte[]> capped(long max) {
    return info -> new CappedBody(info.statusCode() / 100 == 2 ? max : MAX_SMALL_ANSWER);
  }

  /** An answer longer than asked for. */
  static final class AnswerTooLongException extends IOException {
    AnswerTooLongException(String message) {
      super(message);
    }
  }

  /**
   * A body received with a bound: {@link #take} keeps each buffer or says it goes past the bound,
   * which cancels the exchange and fails it.
   */
  abstract static class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    final long max;
    private Flow.Subscription subscription;

    BoundedBody(long max) {
      this.max = max;
    }

    /** Keeps the bytes of {@code b}; false when they would go past the bound (nothing kept). */
    abstract boolean take(ByteBuffer b);

    /** The body, once complete. */
    abstract byte[] finish();

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      if (result.isDone()) {
        return;
      }
      for (ByteBuffer b : items) {
        if (!take(b)) {
          subscription.cancel();
          result.completeExceptionally(new AnswerTooLongException("sent more than the " + max + " bytes asked for"));
          return;
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(finish());
    }
  }

  /** Collects a body of at most {@code max} bytes; cancels the exchange when there is more. */
  static final class CappedBody extends BoundedBody {
    private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();

    CappedBody(long max) {
      super(max);
    }

    @Override
    boolean take(ByteBuffer b) {
      if (bytes.size() + (long) b.remaining() > max) {
        return false;
      }
      byte[] chunk = new byte[b.remaining()];
      b.get(chunk);
      bytes.writeBytes(chunk);
      return true;
    }

    @Override
    byte[] finish() {
      return bytes.toByteArray();
    }
  }
}
