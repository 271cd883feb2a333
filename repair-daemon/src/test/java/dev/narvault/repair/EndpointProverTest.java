package dev.narvault.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderClient;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which addresses a holder may be proven at: no loopback, private, reserved or SSRF target among strangers. */
class EndpointProverTest {
  private static InetAddress at(String literal) throws Exception {
    return InetAddress.getByName(literal);
  }

  @Test
  void unusable_refusesEveryAddressNobodyElseCouldReach_orThatProbesPrivateNetworks() throws Exception {
    for (String a : List.of("127.0.0.1", "127.3.0.1", "::1", "10.1.2.3", "172.16.0.1", "172.31.255.1", "192.168.1.1",
        "169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1", "100.64.0.1", "100.127.0.1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1")) {
      String why = EndpointProver.unusable(at(a), false);
      assertNotNull(why, a + " must be refused");
      assertTrue(why.contains("--allow-private-holders"), a + ": " + why);
    }
    for (String a : List.of("0.0.0.0", "::", "224.0.0.1", "ff02::1", "240.0.0.1", "255.255.255.255", "0.1.2.3",
        "198.18.0.1", "192.0.0.8", "192.0.2.1", "198.51.100.7", "203.0.113.9", "2001:db8::1")) {
      assertNotNull(EndpointProver.unusable(at(a), false), a + " must be refused");
      assertNotNull(EndpointProver.unusable(at(a), true), a + " is refused even for development");
    }
    for (String a : List.of("8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2a00:1450::1", "193.0.14.129")) {
      assertNull(EndpointProver.unusable(at(a), false), a + " is a global unicast address");
    }
  }

  @Test
  void unusable_allowsLoopbackAndPrivateOnlyWithTheDevelopmentFlag() throws Exception {
    for (String a : List.of("127.0.0.1", "127.9.0.1", "10.0.0.1", "192.168.0.2", "::1", "fd00::2")) {
      assertNull(EndpointProver.unusable(at(a), true), a);
    }
  }

  @Test
  void prove_refusesALoopbackEndpoint_beforeConnectingAnywhere() {
    EndpointProver strict = new EndpointProver(new HolderClient(Duration.ofSeconds(1)), false);
    var e = assertThrows(EndpointProver.RefusedEndpointException.class,
        () -> strict.prove(java.net.URI.create("http://localhost:7070"), null));
    assertTrue(e.getMessage().contains("advertise"), e.getMessage());
    var wildcard = assertThrows(EndpointProver.RefusedEndpointException.class,
        () -> new EndpointProver(new HolderClient(Duration.ofSeconds(1)), true)
            .prove(java.net.URI.create("http://0.0.0.0:7070"), null));
    assertEquals(true, wildcard.getMessage().contains("wildcard"), wildcard.getMessage());
  }

  @Test
  void pinned_aNamedPlainHttpEndpoint_goesToTheAddressItWasProvenAt_nothingElseChanges() {
    assertEquals("http://203.0.113.7:7070/base", dev.narvault.core.holder.HolderEndpoints.pinned("http://holder.example:7070/base", "203.0.113.7"));
    assertEquals("http://[2001:db8::7]:7070", dev.narvault.core.holder.HolderEndpoints.pinned("http://holder.example:7070", "2001:db8::7"));
    assertEquals("http://198.51.100.1:7070", dev.narvault.core.holder.HolderEndpoints.pinned("http://198.51.100.1:7070", "203.0.113.7"),
        "an IP literal is what was proven");
    assertEquals("http://[2001:db8::1]:7070", dev.narvault.core.holder.HolderEndpoints.pinned("http://[2001:db8::1]:7070", "203.0.113.7"));
    assertEquals("https://holder.example:7443", dev.narvault.core.holder.HolderEndpoints.pinned("https://holder.example:7443", "203.0.113.7"),
        "HTTPS keeps its name for the certificate");
    assertEquals("http://holder.example:7070", dev.narvault.core.holder.HolderEndpoints.pinned("http://holder.example:7070", ""),
        "never proven: nothing to pin to");
  }
}
