package dev.narvault.core.coordinator;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Collection;
import java.util.List;

/**
 * A worker's side of {@code POST /v1/placements}: the request is signed with the worker's key,
 * which the coordinator must list as trusted. A refusal for lack of holders is a
 * {@link PlacementException}; an unreachable coordinator an {@link IOException}. Also reads the
 * coordinator's public {@code GET /v1/policy}.
 */
public final class PlacementClient implements PlacementAuthority {
  private static final int MAX_ANSWER = 1 << 20;

  private final URI coordinator;
  private final NixSecretKey workerKey;
  private final InstantSource clock;
  private final HttpClient http;

  public PlacementClient(URI coordinator, NixSecretKey workerKey, InstantSource clock) {
    this.coordinator = coordinator;
    this.workerKey = workerKey;
    this.clock = clock;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10)).build();
  }

  @Override
  public List<CoordinatorMessages.Assignment> place(PackId packId, int parityFragmentCount, int blockSize,
      List<CoordinatorMessages.Wanted> wanted, Collection<HolderId> placedOn, Collection<HolderId> failedOn)
      throws IOException {
    CoordinatorMessages.PlacementRequest request = new CoordinatorMessages.PlacementRequest(
        CoordinatorMessages.PLACEMENT_REQUEST, workerKey.name(), clock.millis(), packId.hex(), blockSize, wanted,
        placedOn.stream().map(HolderId::value).toList(), failedOn.stream().map(HolderId::value).toList(),
        parityFragmentCount);
    byte[] body = JsonCodec.toJson(request);
    HttpRequest post = HttpRequest.newBuilder(URI.create(coordinator + "/v1/placements"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
        .header(SignedMessages.HEADER, SignedMessages.sign(body, workerKey))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    HttpResponse<java.io.InputStream> response;
    byte[] answer;
    try {
      response = http.send(post, HttpResponse.BodyHandlers.ofInputStream());
      try (java.io.InputStream in = response.body()) {
        answer = in.readNBytes(MAX_ANSWER + 1);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted asking the coordinator for a placement", e);
    } catch (IOException e) {
      throw new IOException("coordinator " + coordinator + " unreachable: " + e, e);
    }
    if (answer.length > MAX_ANSWER) {
      throw new IOException("coordinator answer of " + answer.length + " bytes is too large");
    }
    if (response.statusCode() == 503) {
      throw new PlacementException("coordinator cannot place pack " + packId + ": "
          + new String(answer, java.nio.charset.StandardCharsets.UTF_8).strip());
    }
    if (response.statusCode() != 200) {
      throw new IOException("coordinator refused placement of pack " + packId + ": HTTP " + response.statusCode()
          + " " + new String(answer, java.nio.charset.StandardCharsets.UTF_8).strip());
    }
    List<CoordinatorMessages.Assignment> assignments;
    try {
      assignments = JsonCodec.parse(answer, CoordinatorMessages.PlacementGrant.class).assignments();
    } catch (IllegalArgumentException e) {
      throw new IOException("coordinator sent a malformed placement: " + e.getMessage(), e);
    }
    if (assignments.size() != wanted.size()) {
      throw new IOException("coordinator placed " + assignments.size() + " of " + wanted.size() + " fragments");
    }
    return assignments;
  }

  @Override
  public CoordinatorMessages.Policy policy() throws IOException {
    HttpRequest get = HttpRequest.newBuilder(URI.create(coordinator + "/v1/policy")).timeout(Duration.ofSeconds(30))
        .GET().build();
    HttpResponse<java.io.InputStream> response;
    byte[] answer;
    try {
      response = http.send(get, HttpResponse.BodyHandlers.ofInputStream());
      try (java.io.InputStream in = response.body()) {
        answer = in.readNBytes(MAX_ANSWER + 1);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted asking the coordinator for its policy", e);
    } catch (IOException e) {
      throw new IOException("coordinator " + coordinator + " unreachable: " + e, e);
    }
    if (answer.length > MAX_ANSWER) {
      throw new IOException("coordinator answer of " + answer.length + " bytes is too large");
    }
    if (response.statusCode() != 200) {
      throw new IOException("coordinator " + coordinator + " answered GET /v1/policy with HTTP " + response.statusCode()
          + " " + new String(answer, java.nio.charset.StandardCharsets.UTF_8).strip());
    }
    try {
      return JsonCodec.parse(answer, CoordinatorMessages.Policy.class);
    } catch (IllegalArgumentException e) {
      throw new IOException("coordinator " + coordinator + " sent a malformed policy: " + e.getMessage(), e);
    }
  }
}
