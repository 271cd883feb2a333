package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ClientAddressTest {
  /** A CDN's shield and edge ranges, as an operator would list them. */
  private static final ClientIdentity BEHIND_CDN = new ClientIdentity(
      List.of(Cidr.parse("203.0.113.0/24"), Cidr.parse("2001:db8:cd::/48")), Optional.empty(), false);
  private static final ClientIdentity WITH_HEADER = new ClientIdentity(BEHIND_CDN.trustedProxies(),
      Optional.of("Fastly-Client-IP"), false);
  private static final ClientIdentity LEGACY = new ClientIdentity(List.of(), Optional.empty(), true);

  private static InetSocketAddress peer(String ip) {
    return new InetSocketAddress(ip, 40000);
  }

  private static String key(String peer, String forwardedFor, ClientIdentity identity) {
    return ClientAddress.key(peer(peer), forwardedFor == null ? List.of() : List.of(forwardedFor), null, identity);
  }

  @Test
  void ipv4_isTheAddress() {
    assertEquals("192.0.2.7", key("192.0.2.7", null, ClientIdentity.PEER));
  }

  @Test
  void ipv6_isKeyedByItsSlash64() {
    String a = key("2001:db8:1:2:aaaa::1", null, ClientIdentity.PEER);
    String b = key("2001:db8:1:2:ffff:ffff:ffff:ffff", null, ClientIdentity.PEER);
    String other = key("2001:db8:1:3::1", null, ClientIdentity.PEER);
    assertEquals("20010db800010002::/64", a);
    assertEquals(a, b, "one subscriber's /64 is one client");
    assertNotEquals(a, other, "the next /64 is another client");
  }

  @Test
  void v4MappedIpv6_isTheIpv4Client() {
    assertEquals("192.0.2.7", key("::ffff:192.0.2.7", null, ClientIdentity.PEER));
  }

  @Test
  void forwardedFor_isIgnored_fromAPeerThatIsNoTrustedProxy() {
    assertEquals("127.0.0.1", key("127.0.0.1", "198.51.100.9", ClientIdentity.PEER));
    assertEquals("192.0.2.50", key("192.0.2.50", "198.51.100.9", BEHIND_CDN), "a client talking to the gateway "
        + "directly names nobody, whatever it claims");
  }

  @Test
  void forwardedFor_fromATrustedProxy_isReadRightToLeft_overTrustedHopsOnly() {
    // Client -> edge 203.0.113.10 -> shield 203.0.113.20 -> gateway: the edge appended the client,
    // the shield appended the edge.
    assertEquals("198.51.100.9", key("203.0.113.20", "198.51.100.9, 203.0.113.10", BEHIND_CDN));
    assertEquals("198.51.100.9", key("203.0.113.20", "198.51.100.9", BEHIND_CDN), "one hop");
    assertEquals("20010db800000005::/64", key("2001:db8:cd::1", "2001:db8:0:5::77, 2001:db8:cd::2", BEHIND_CDN));
    assertEquals("198.51.100.9", key("203.0.113.20", "198.51.100.9:5123, [2001:db8:cd::2]", BEHIND_CDN),
        "entries with a port, bracketed IPv6");
  }

  @Test
  void aClientForgingForwardedFor_cannotBeSomeoneElse_norATrustedProxy() {
    // The client put entries of its own in front: the walk stops at the first untrusted one from the
    // right, which its edge wrote.
    assertEquals("198.51.100.9", key("203.0.113.20", "192.0.2.1, 198.51.100.9, 203.0.113.10", BEHIND_CDN));
    assertEquals("198.51.100.9", key("203.0.113.20", "203.0.113.99, 198.51.100.9, 203.0.113.10", BEHIND_CDN),
        "claiming to be a trusted proxy gets it nowhere");
    assertEquals("198.51.100.9", ClientAddress.key(peer("203.0.113.20"),
        List.of("192.0.2.1", "198.51.100.9, 203.0.113.10"), null, BEHIND_CDN), "several header lines are one list");
  }

  @Test
  void anEntryThatIsNotAnAddress_isAnsweredForByTheTrustedHopThatPassedItOn() {
    // Never a name lookup: "cafe" is hex but not an address; 999.1.1.1 looks like one and is not.
    assertEquals("203.0.113.10", key("203.0.113.20", "unknown, 203.0.113.10", BEHIND_CDN));
    assertEquals("203.0.113.20", key("203.0.113.20", "evil.example", BEHIND_CDN));
    assertEquals("203.0.113.20", key("203.0.113.20", "999.1.1.1", BEHIND_CDN));
    assertEquals("203.0.113.20", key("203.0.113.20", "", BEHIND_CDN));
    assertEquals("203.0.113.20", key("203.0.113.20", null, BEHIND_CDN), "no header: the proxy itself");
    assertEquals("203.0.113.10", key("203.0.113.20", "203.0.113.10", BEHIND_CDN), "all trusted: the leftmost");
  }

  @Test
  void theClientIpHeader_fromATrustedProxy_wins_andIsIgnoredFromAnyoneElse() {
    assertEquals("198.51.100.9", ClientAddress.key(peer("203.0.113.20"), List.of("192.0.2.1, 203.0.113.10"),
        "198.51.100.9", WITH_HEADER));
    assertEquals("192.0.2.50", ClientAddress.key(peer("192.0.2.50"), List.of(), "198.51.100.9", WITH_HEADER),
        "a client talking to the gateway directly cannot name itself");
    assertEquals("192.0.2.1", ClientAddress.key(peer("203.0.113.20"), List.of("192.0.2.1, 203.0.113.10"),
        "garbage", WITH_HEADER), "a header that is no address: X-Forwarded-For decides");
  }

  @Test
  void theDeprecatedFlag_takesTheLastEntry_fromAnyPeer() {
    assertEquals("198.51.100.9", key("127.0.0.1", "203.0.113.1, 198.51.100.9", LEGACY));
    assertEquals("20010db800000000::/64", key("127.0.0.1", "2001:db8::5", LEGACY));
    assertEquals("20010db800000000::/64", key("127.0.0.1", "[2001:db8::5]", LEGACY));
    assertEquals("127.0.0.1", key("127.0.0.1", "cafe", LEGACY));
  }

  @Test
  void cidrs_parseAddressesAndRanges_andContainWhatTheySay() {
    Cidr v4 = Cidr.parse("203.0.113.0/24");
    assertTrue(v4.contains(InetAddress.ofLiteral("203.0.113.255")));
    assertTrue(v4.contains(InetAddress.ofLiteral("::ffff:203.0.113.1")), "IPv4-mapped is IPv4");
    assertFalse(v4.contains(InetAddress.ofLiteral("203.0.114.0")));
    assertFalse(v4.contains(InetAddress.ofLiteral("2001:db8::1")));
    Cidr one = Cidr.parse("192.0.2.7");
    assertEquals("192.0.2.7/32", one.toString());
    assertFalse(one.contains(InetAddress.ofLiteral("192.0.2.8")));
    assertTrue(Cidr.parse("2001:db8::/32").contains(InetAddress.ofLiteral("2001:db8:ffff::1")));
    assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.ofLiteral("198.51.100.1")));
    assertTrue(Cidr.parse(" 10.1.2.0/24 ").contains(InetAddress.ofLiteral("10.1.2.9")));
  }

  @Test
  void cidrs_refuseWhatIsNotOne_withTheValue() {
    for (String bad : List.of("localhost", "proxy.example", "192.0.2.0/33", "192.0.2.1/24", "192.0.2.0/x", "",
        "2001:db8::/129")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cidr.parse(bad), bad);
      assertTrue(e.getMessage().contains(bad.isEmpty() ? "''" : bad.split("/")[0]), e.getMessage());
    }
  }

  @Test
  void identities_thatCouldBeSpoofed_areRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> new ClientIdentity(List.of(), Optional.of("Fastly-Client-IP"), false), "a header without proxies");
    assertThrows(IllegalArgumentException.class,
        () -> new ClientIdentity(BEHIND_CDN.trustedProxies(), Optional.empty(), true), "old and new at once");
    assertThrows(IllegalArgumentException.class,
        () -> new ClientIdentity(BEHIND_CDN.trustedProxies(), Optional.of("X: y"), false), "not a header name");
  }
}
