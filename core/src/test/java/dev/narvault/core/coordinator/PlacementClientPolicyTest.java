package dev.narvault.core.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.narvault.core.nix.NixSecretKey;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/policy} as a worker reads it, from a coordinator fake on loopback. */
class PlacementClientPolicyTest {
  private HttpServer coordinator;
  private final AtomicReference<Integer> status = new AtomicReference<>(200);
  private final AtomicReference<String> body = new AtomicReference<>("");
  private PlacementClient client;

  @BeforeEach
  void start() throws IOException {
    coordinator = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    coordinator.createContext("/v1/policy", x -> {
      try (x) {
        byte[] bytes = body.get().getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status.get(), bytes.length == 0 ? -1 : bytes.length);
        x.getResponseBody().write(bytes);
      }
    });
    coordinator.start();
    client = new PlacementClient(URI.create("http://127.0.0.1:" + coordinator.getAddress().getPort()),
        NixSecretKey.generate("w-1", new SecureRandom()), InstantSource.system());
  }

  @AfterEach
  void stop() {
    coordinator.stop(0);
  }

  @Test
  void policy_readsTheCoordinatorsAnswer() throws IOException {
    body.set("{\"liveWithinMillis\":600000,\"perNetwork\":1,\"perWiderNetwork\":-1,\"perOperator\":3}");
    CoordinatorMessages.Policy policy = client.policy();
    assertEquals(new CoordinatorMessages.Policy(600_000, 1, -1, 3), policy);
    assertEquals(new DomainLimits(1, 20, 3), policy.limits().forCode(40));
  }

  @Test
  void policy_refusedOrMalformed_isAnIOExceptionSayingSo() {
    status.set(404);
    IOException refused = assertThrows(IOException.class, client::policy);
    assertTrue(refused.getMessage().contains("HTTP 404"), refused.getMessage());
    status.set(200);
    body.set("{\"liveWithinMillis\":0,\"perNetwork\":1,\"perWiderNetwork\":1,\"perOperator\":1}");
    IOException malformed = assertThrows(IOException.class, client::policy);
    assertTrue(malformed.getMessage().contains("malformed policy"), malformed.getMessage());
  }

  @Test
  void policy_unreachableCoordinator_isAnIOException() {
    coordinator.stop(0);
    IOException e = assertThrows(IOException.class, client::policy);
    assertTrue(e.getMessage().contains("unreachable"), e.getMessage());
  }
}
