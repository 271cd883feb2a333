package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.narvault.core.nix.NixSecretKey;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What a holder advertises: --advertise, else its bound address, else what the coordinator sees. */
class AdvertisedEndpointTest {
  private static final HolderConfig CONFIG = HolderConfig.of(new InetSocketAddress("0.0.0.0", 7070), Path.of("d"),
      1L << 30, NixSecretKey.generate("c", new SecureRandom()).publicKey());

  @Test
  void advertisedEndpoint_wildcardBind_isTheAddressTheCoordinatorSees_atTheBoundPort() throws Exception {
    InetSocketAddress bound = new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 7070);
    assertEquals(URI.create("http://203.0.113.7:7070"), HolderServer.advertisedEndpoint(CONFIG, bound, () -> "203.0.113.7"));
    InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("::"), 7071);
    assertEquals(URI.create("http://[2001:db8::5]:7071"), HolderServer.advertisedEndpoint(CONFIG, v6, () -> "2001:db8::5"));
    IOException down = new IOException("coordinator down");
    assertEquals(down, assertThrows(IOException.class,
        () -> HolderServer.advertisedEndpoint(CONFIG, bound, () -> { throw down; })));
  }

  @Test
  void advertisedEndpoint_specificBindOrAdvertise_doesNotAskTheCoordinator() throws Exception {
    AtomicInteger asked = new AtomicInteger();
    HolderServer.SeenAddress seen = () -> {
      asked.incrementAndGet();
      return "203.0.113.7";
    };
    InetSocketAddress bound = new InetSocketAddress(InetAddress.getByName("192.0.2.10"), 7070);
    assertEquals(URI.create("http://192.0.2.10:7070"), HolderServer.advertisedEndpoint(CONFIG, bound, seen));
    HolderConfig advertising = CONFIG.withDescription(Optional.of(URI.create("http://holder.example.org:80")), "", "");
    InetSocketAddress wildcard = new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 7070);
    assertEquals(URI.create("http://holder.example.org:80"), HolderServer.advertisedEndpoint(advertising, wildcard, seen));
    assertEquals(0, asked.get());
  }
}
