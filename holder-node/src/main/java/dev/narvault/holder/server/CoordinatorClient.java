package dev.narvault.holder.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.FragmentStore;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The holder's side of membership: register, heartbeat, report corrupt fragments. Every message is
 * JSON with a millisecond timestamp, signed with the holder's identity key; the coordinator refuses
 * stale or replayed ones. Failures are logged and retried with the next heartbeat, never fatal.
 */
final class CoordinatorClient {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorClient.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final URI coordinator;
  private final NixSecretKey identity;
  private final InstantSource clock;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private long lastMillis;

  CoordinatorClient(URI coordinator, NixSecretKey identity, InstantSource clock) {
    this.coordinator = coordinator;
    this.identity = identity;
    this.clock = clock;
  }

  void register(URI endpoint, FragmentStore store, String version, String operator, String location) throws IOException {
    Map<String, Object> m = base();
    m.put("publicKey", identity.publicKey().toString());
    m.put("endpoint", endpoint.toString());
    m.put("capacityBytes", store.capacityBytes());
    m.put("usedBytes", store.usedBytes());
    m.put("fragments", store.fragmentCount());
    m.put("version", version);
    m.put("operator", operator);
    m.put("location", location);
    send("/v1/register", m);
  }

  void heartbeat(FragmentStore store, String version) throws IOException {
    Map<String, Object> m = base();
    m.put("usedBytes", store.usedBytes());
    m.put("fragments", store.fragmentCount());
    m.put("version", version);
    send("/v1/heartbeat", m);
  }

  void reportCorrupt(FragmentId id) {
    Map<String, Object> m = base();
    m.put("fragmentId", id.hex());
    try {
      send("/v1/scrub-report", m);
    } catch (IOException e) {
      LOG.warn("could not report corrupt fragment {} to {}: {}", id, coordinator, e.getMessage());
    }
  }

  private synchronized Map<String, Object> base() {
    // Strictly increasing timestamps, even within one millisecond: the coordinator drops repeats.
    lastMillis = Math.max(lastMillis + 1, clock.millis());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("holderId", HolderIdentity.holderId(identity.publicKey()));
    m.put("timestampMillis", lastMillis);
    return m;
  }

  private void send(String path, Map<String, Object> message) throws IOException {
    byte[] body = JSON.writeValueAsBytes(message);
    HttpRequest request = HttpRequest.newBuilder(URI.create(coordinator + path)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .header(SignedMessages.HEADER, SignedMessages.sign(body, identity))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("coordinator " + coordinator + path + " answered " + r.statusCode() + ": " + r.body().strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
