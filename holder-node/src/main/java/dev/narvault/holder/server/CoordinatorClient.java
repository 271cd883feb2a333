package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.FragmentStore;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The holder's side of membership: register, heartbeat, report corrupt fragments, announce an
 * exit. Every message is JSON with its type and a millisecond timestamp, signed with the holder's
 * identity key; the coordinator refuses stale or replayed ones. Failures are logged and retried
 * with the next heartbeat, never fatal; scrub reports wait in a queue until acknowledged.
 *
 * <p>Requests leave from the holder's bound address when it has one, so the coordinator sees the
 * address (and network) the holder really serves from.
 */
final class CoordinatorClient {
  private static final Logger LOG = LoggerFactory.getLogger(CoordinatorClient.class);

  private final URI coordinator;
  private final NixSecretKey identity;
  private final String holderId;
  private final InstantSource clock;
  private final HttpClient http;
  private final Set<FragmentId> unreported = new LinkedHashSet<>();
  private long lastMillis;

  CoordinatorClient(URI coordinator, NixSecretKey identity, InstantSource clock, Optional<InetAddress> localAddress) {
    this.coordinator = coordinator;
    this.identity = identity;
    this.holderId = HolderIdentity.holderId(identity.publicKey()).value();
    this.clock = clock;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    localAddress.filter(a -> !a.isAnyLocalAddress()).ifPresent(b::localAddress);
    this.http = b.build();
  }

  /**
   * The address the coordinator sees this holder's requests come from ({@code GET /v1/address}):
   * what a holder bound to a wildcard address advertises.
   */
  String seenAddress() throws IOException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(coordinator + "/v1/address"))
        .timeout(Duration.ofSeconds(10)).GET().build();
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      String address = r.body().strip();
      if (r.statusCode() != 200 || address.isEmpty() || address.length() > 64
          || !address.matches("[0-9A-Fa-f:.%a-z]+")) {
        throw new IOException("coordinator " + coordinator + "/v1/address answered " + r.statusCode() + ": "
            + address.substring(0, Math.min(80, address.length())));
      }
      return address;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** Registers; returns the coordinator's answer, which says at which address it proved this endpoint. */
  String register(URI endpoint, FragmentStore store, String version, String operator, String location)
      throws IOException {
    return send("/v1/register", ts -> new HolderMessages.Registration(HolderMessages.Registration.TYPE, holderId, ts,
        identity.publicKey().toString(), endpoint.toString(), store.capacityBytes(), store.usedBytes(),
        store.fragmentCount(), version, operator, location));
  }

  /** Heartbeats; returns the coordinator's answer: the holder's standing, as JSON. */
  String heartbeat(FragmentStore store, String version) throws IOException {
    return send("/v1/heartbeat", ts -> new HolderMessages.Heartbeat(HolderMessages.Heartbeat.TYPE, holderId, ts,
        store.usedBytes(), store.fragmentCount(), version));
  }

  /** Queues a corrupt fragment's report and tries to send every queued one now. */
  void reportCorrupt(FragmentId id) {
    synchronized (unreported) {
      unreported.add(id);
    }
    flushReports();
  }

  /** Sends queued scrub reports; each stays queued until the coordinator acknowledges it. */
  void flushReports() {
    List<FragmentId> pending;
    synchronized (unreported) {
      pending = new ArrayList<>(unreported);
    }
    for (FragmentId id : pending) {
      try {
        send("/v1/scrub-report", ts -> new HolderMessages.ScrubReport(HolderMessages.ScrubReport.TYPE, holderId,
            ts, id.hex()));
        synchronized (unreported) {
          unreported.remove(id);
        }
      } catch (IOException e) {
        LOG.warn("could not report corrupt fragment {} to {}, will retry: {}", id, coordinator, e.getMessage());
        return;
      }
    }
  }

  /** Announces that this holder is leaving; returns the coordinator's answer (fragments still to move). */
  String exit() throws IOException {
    return send("/v1/exit", ts -> new HolderMessages.Exit(HolderMessages.Exit.TYPE, holderId, ts));
  }

  /**
   * Declares that this holder will be away until {@code untilMillis} (not after now: it is back);
   * returns the coordinator's answer, the holder's standing as JSON.
   */
  String away(long untilMillis) throws IOException {
    return send("/v1/away", ts -> new HolderMessages.Away(HolderMessages.Away.TYPE, holderId, ts, untilMillis));
  }

  /**
   * Signs and sends one message. Messages go one at a time, each stamped when it leaves with a
   * timestamp above every earlier one (even within one millisecond): the coordinator refuses a
   * message older than the last it accepted, so a heartbeat stamped first but arriving second
   * would otherwise get an exit or scrub report refused as a replay.
   */
  private synchronized String send(String path, LongFunction<HolderMessages.Signed> message) throws IOException {
    lastMillis = Math.max(lastMillis + 1, clock.millis());
    byte[] body = JsonCodec.toJson(message.apply(lastMillis));
    HttpRequest request = HttpRequest.newBuilder(URI.create(coordinator + path)).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .header(SignedMessages.HEADER, SignedMessages.sign(body, identity))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        String reason = r.body().strip();
        throw new CoordinatorRefusedException("coordinator " + coordinator + path, r.statusCode(),
            reason.substring(0, Math.min(500, reason.length())));
      }
      return r.body().strip();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
