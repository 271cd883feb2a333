package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  private static InetSocketAddress peer(String ip) {
    return new InetSocketAddress(ip, 40000);
  }

  @Test
  void ipv4_isTheAddress() {
    assertEquals("192.0.2.7", ClientAddress.key(peer("192.0.2.7"), null, false));
  }

  @Test
  void ipv6_isKeyedByItsSlash64() {
    String a = ClientAddress.key(peer("2001:db8:1:2:aaaa::1"), null, false);
    String b = ClientAddress.key(peer("2001:db8:1:2:ffff:ffff:ffff:ffff"), null, false);
    String other = ClientAddress.key(peer("2001:db8:1:3::1"), null, false);
    assertEquals("20010db800010002::/64", a);
    assertEquals(a, b, "one subscriber's /64 is one client");
    assertNotEquals(a, other, "the next /64 is another client");
  }

  @Test
  void forwardedFor_isIgnoredUnlessTrusted() {
    assertEquals("127.0.0.1", ClientAddress.key(peer("127.0.0.1"), "198.51.100.9", false));
  }

  @Test
  void forwardedFor_whenTrusted_takesTheLastEntry() {
    // The proxy appends what it saw; earlier entries are whatever the client claimed.
    assertEquals("198.51.100.9", ClientAddress.key(peer("127.0.0.1"), "203.0.113.1, 198.51.100.9", true));
    assertEquals("20010db800000000::/64", ClientAddress.key(peer("127.0.0.1"), "2001:db8::5", true));
    assertEquals("20010db800000000::/64", ClientAddress.key(peer("127.0.0.1"), "[2001:db8::5]", true));
  }

  @Test
  void forwardedFor_thatIsNotAnAddress_fallsBackToThePeer() {
    // Never a name lookup: "cafe" is hex but not an address.
    assertEquals("127.0.0.1", ClientAddress.key(peer("127.0.0.1"), "cafe", true));
    assertEquals("127.0.0.1", ClientAddress.key(peer("127.0.0.1"), "evil.example", true));
    assertEquals("127.0.0.1", ClientAddress.key(peer("127.0.0.1"), "", true));
  }

  @Test
  void v4MappedIpv6_isTheIpv4Client() {
    assertEquals("192.0.2.7", ClientAddress.key(peer("::ffff:192.0.2.7"), null, false));
  }
}
