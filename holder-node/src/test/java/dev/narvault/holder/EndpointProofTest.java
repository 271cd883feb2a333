package dev.narvault.holder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.holder.server.HolderConfig;
import dev.narvault.holder.server.HolderServer;
import dev.narvault.holder.store.DiskFragmentStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/prove}: a holder signs the coordinator's endpoint challenge with its identity
 * key, and {@link HolderClient#proveEndpoint} accepts only a proof that verifies with the expected
 * key and echoes the challenge. The holder runs on loopback with a fake clock; lying holders are
 * a hand-written server on loopback.
 */
class EndpointProofTest {
  private static final NixSecretKey COORDINATOR = NixSecretKey.generate("test-coordinator-1", new SecureRandom());
  private static final SecureRandom RANDOM = new SecureRandom();
  private final HolderClient client = new HolderClient(Duration.ofSeconds(5));
  private final HttpClient http = HttpClient.newHttpClient();
  private final TestClock clock = new TestClock(Instant.parse("2026-12-01T10:00:00Z"));
  private HttpServer fake;

  @TempDir
  Path dir;

  @AfterEach
  void stopFake() {
    if (fake != null) {
      fake.stop(0);
    }
  }

  private HolderServer start() throws IOException {
    Path data = dir.resolve("data");
    return HolderServer.start(HolderConfig.of(new InetSocketAddress("127.0.0.1", 0), data, 1 << 20,
        COORDINATOR.publicKey()), DiskFragmentStore.open(data, 1 << 20), clock);
  }

  private NixPublicKey holderKey() throws IOException {
    return NixSecretKey.parse(Files.readString(dir.resolve("data/identity.key"))).publicKey();
  }

  private static String nonce() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private HttpResponse<byte[]> postProve(URI endpoint, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(endpoint + "/v1/prove"))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void proveEndpoint_returnsTheChallengeSignedByTheHoldersKey_withAFreshTimestampEachTime() throws Exception {
    try (HolderServer holder = start()) {
      String nonce = nonce();
      HolderMessages.EndpointProof proof = client.proveEndpoint(holder.endpoint(), nonce, "192.0.2.7", holderKey());
      assertEquals(new HolderMessages.EndpointProof("endpoint-proof", holder.holderId(), clock.millis(), nonce,
          holder.endpoint().toString()), proof);
      clock.advance(Duration.ofSeconds(30));
      HolderMessages.EndpointProof again = client.proveEndpoint(holder.endpoint(), nonce, "192.0.2.7", holderKey());
      assertEquals(proof.timestampMillis() + 30_000, again.timestampMillis(), "a repeat signs the time again");
    }
  }

  @Test
  void prove_signsTheExactAnswerBytes_whichVerifyWithTheHoldersKeyAndNoOther() throws Exception {
    try (HolderServer holder = start()) {
      String challenge = new String(JsonCodec.toJson(new HolderMessages.EndpointChallenge("endpoint-challenge",
          nonce(), holder.endpoint().toString(), "")), StandardCharsets.UTF_8);
      HttpResponse<byte[]> r = postProve(holder.endpoint(), challenge);
      assertEquals(200, r.statusCode());
      String signature = r.headers().firstValue(SignedMessages.HEADER).orElseThrow();
      assertTrue(SignedMessages.verify(r.body(), signature, holderKey()));
      NixPublicKey stranger = NixSecretKey.generate("narvault-holder", new SecureRandom()).publicKey();
      assertFalse(SignedMessages.verify(r.body(), signature, stranger));
      byte[] altered = r.body().clone();
      altered[altered.length - 2] ^= 1;
      assertFalse(SignedMessages.verify(altered, signature, holderKey()));
    }
  }

  @Test
  void proveEndpoint_withAnotherKeyExpected_isRefused() throws Exception {
    try (HolderServer holder = start()) {
      NixPublicKey other = NixSecretKey.generate("narvault-holder", new SecureRandom()).publicKey();
      IOException e = assertThrows(IOException.class,
          () -> client.proveEndpoint(holder.endpoint(), nonce(), "", other));
      assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
    }
  }

  @Test
  void prove_malformedChallenge_is400WithTheReason_andTooLargeIs413() throws Exception {
    try (HolderServer holder = start()) {
      HttpResponse<byte[]> broken = postProve(holder.endpoint(), "{\"type\":");
      assertEquals(400, broken.statusCode());
      assertTrue(new String(broken.body(), StandardCharsets.UTF_8).contains("EndpointChallenge"));
      String wrongType = "{\"type\":\"register\",\"nonce\":\"" + nonce() + "\",\"endpoint\":\"http://x:1\","
          + "\"seenAddress\":\"\"}";
      HttpResponse<byte[]> typed = postProve(holder.endpoint(), wrongType);
      assertEquals(400, typed.statusCode());
      assertTrue(new String(typed.body(), StandardCharsets.UTF_8).contains("endpoint-challenge"));
      String shortNonce = "{\"type\":\"endpoint-challenge\",\"nonce\":\"abcd\",\"endpoint\":\"http://x:1\","
          + "\"seenAddress\":\"\"}";
      assertEquals(400, postProve(holder.endpoint(), shortNonce).statusCode());
      assertEquals(413, postProve(holder.endpoint(), "x".repeat(17 * 1024)).statusCode());
      assertTrue(client.proveEndpoint(holder.endpoint(), nonce(), "", holderKey()).holderId()
          .equals(holder.holderId()), "the holder still answers good challenges");
    }
  }

  /**
   * A holder that reads the challenge and answers with {@code lie} applied to the honest proof,
   * signed by {@code signer}.
   */
  private URI fakeHolder(NixSecretKey signer, UnaryOperator<HolderMessages.EndpointProof> lie) throws IOException {
    fake = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    fake.createContext("/v1/prove", exchange -> {
      try (exchange) {
        HolderMessages.EndpointChallenge c = JsonCodec.parse(exchange.getRequestBody().readAllBytes(),
            HolderMessages.EndpointChallenge.class);
        HolderMessages.EndpointProof honest = new HolderMessages.EndpointProof("endpoint-proof",
            HolderIdentity.holderId(signer.publicKey()).value(), 1, c.nonce(), c.endpoint());
        byte[] body = JsonCodec.toJson(lie.apply(honest));
        exchange.getResponseHeaders().set(SignedMessages.HEADER, SignedMessages.sign(body, signer));
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
      }
    });
    fake.start();
    return URI.create("http://127.0.0.1:" + fake.getAddress().getPort());
  }

  private String refusal(URI endpoint, NixPublicKey expected) {
    return assertThrows(IOException.class, () -> client.proveEndpoint(endpoint, nonce(), "", expected)).getMessage();
  }

  @Test
  void proveEndpoint_refusesAProofOfAnotherNonce() throws Exception {
    NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
    String old = nonce();
    URI endpoint = fakeHolder(key, p -> new HolderMessages.EndpointProof(p.type(), p.holderId(), p.timestampMillis(),
        old, p.endpoint()));
    String message = refusal(endpoint, key.publicKey());
    assertTrue(message.contains("another challenge"), message);
  }

  @Test
  void proveEndpoint_refusesAProofOfAnotherEndpoint() throws Exception {
    NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
    URI endpoint = fakeHolder(key, p -> new HolderMessages.EndpointProof(p.type(), p.holderId(), p.timestampMillis(),
        p.nonce(), "http://198.51.100.9:7070"));
    String message = refusal(endpoint, key.publicKey());
    assertTrue(message.contains("another endpoint"), message);
  }

  @Test
  void proveEndpoint_refusesAProofSignedByAnotherKey_orNamingAnotherHolder() throws Exception {
    NixSecretKey expected = NixSecretKey.generate("narvault-holder", new SecureRandom());
    NixSecretKey impostor = NixSecretKey.generate("narvault-holder", new SecureRandom());
    // The impostor claims the expected holder's id, but cannot sign with its key.
    URI forged = fakeHolder(impostor, p -> new HolderMessages.EndpointProof(p.type(),
        HolderIdentity.holderId(expected.publicKey()).value(), p.timestampMillis(), p.nonce(), p.endpoint()));
    assertTrue(refusal(forged, expected.publicKey()).contains("does not verify"));
    fake.stop(0);
    // Signed by the expected key, but for another holder id.
    URI misnamed = fakeHolder(expected, p -> new HolderMessages.EndpointProof(p.type(),
        HolderIdentity.holderId(impostor.publicKey()).value(), p.timestampMillis(), p.nonce(), p.endpoint()));
    assertTrue(refusal(misnamed, expected.publicKey()).contains("holder id"));
  }

  @Test
  void proveEndpoint_refusesAnUnsignedOrOversizedAnswer_andReportsTheStatusOfARefusal() throws Exception {
    fake = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    fake.createContext("/v1/prove", exchange -> {
      try (exchange) {
        exchange.getRequestBody().readAllBytes();
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
      }
    });
    fake.createContext("/big/v1/prove", exchange -> {
      try (exchange) {
        exchange.getRequestBody().readAllBytes();
        byte[] body = new byte[20 * 1024];
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
      }
    });
    fake.createContext("/refusing/v1/prove", exchange -> {
      try (exchange) {
        exchange.getRequestBody().readAllBytes();
        byte[] body = "go away\n".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(403, body.length);
        exchange.getResponseBody().write(body);
      }
    });
    fake.start();
    String base = "http://127.0.0.1:" + fake.getAddress().getPort();
    NixPublicKey key = NixSecretKey.generate("narvault-holder", new SecureRandom()).publicKey();
    assertTrue(refusal(URI.create(base), key).contains("without " + SignedMessages.HEADER));
    assertTrue(refusal(URI.create(base + "/big"), key).contains("more than"));
    HolderRefusedException refused = assertThrows(HolderRefusedException.class,
        () -> client.proveEndpoint(URI.create(base + "/refusing"), nonce(), "", key));
    assertEquals(403, refused.status());
    assertTrue(refused.getMessage().contains("go away"), refused.getMessage());
  }
}
