package dev.narvault.gateway.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.narvault.core.nix.NixBase32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The gateway's request routing: every outside URI goes through {@link GatewayRoute#parse}. */
class GatewayRouteTest {
  private static final String HASH = "0c0i6cg5vkmmmfbmxq9f02a2lq4ca57k";

  @Test
  void parse_knowsWhatNixAsksFor() {
    assertInstanceOf(GatewayRoute.CacheInfo.class, GatewayRoute.parse("GET", "/nix-cache-info"));
    assertInstanceOf(GatewayRoute.Metrics.class, GatewayRoute.parse("GET", "/metrics"));
    assertEquals(new GatewayRoute.NarInfo(HASH), GatewayRoute.parse("HEAD", "/" + HASH + ".narinfo"));
    assertEquals(new GatewayRoute.Nar("nar/" + HASH + ".nar.xz"), GatewayRoute.parse("GET", "/nar/" + HASH + ".nar.xz"));
    assertEquals(new GatewayRoute.Nar("nar/" + HASH + ".nar"), GatewayRoute.parse("GET", "/nar/" + HASH + ".nar?x=1"));
    assertEquals(new GatewayRoute.Proxy(HASH + ".ls"), GatewayRoute.parse("GET", "/" + HASH + ".ls"));
    assertEquals(new GatewayRoute.Proxy("log/" + HASH + "-hello-2.12.drv"),
        GatewayRoute.parse("GET", "/log/" + HASH + "-hello-2.12.drv"));
    assertEquals(new GatewayRoute.Proxy("realisations/sha256:ab!out.doi"),
        GatewayRoute.parse("GET", "/realisations/sha256:ab!out.doi"));
  }

  @ParameterizedTest
  @CsvSource({
      "PUT, /nix-cache-info, 405",
      "POST, /nar/x.nar, 405",
      "GET, /, 404",
      "GET, /nar/../secret, 404",
      "GET, /nar/%2e%2e%2fsecret.nar, 404",
      "GET, /%2e%2e/x, 404",
      "GET, /a//b, 404",
      "GET, /log/../../etc/passwd, 404",
      "GET, /eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee.narinfo, 404",
      "GET, /%zz, 400"})
  void parse_refuses(String method, String uri, int status) {
    GatewayRoute route = GatewayRoute.parse(method, uri);
    assertEquals(status, assertInstanceOf(GatewayRoute.Refused.class, route, route.toString()).status(), uri);
  }

  @FuzzTest(maxDuration = "60s")
  void route(FuzzedDataProvider data) {
    String method = data.pickValue(new String[] {"GET", "HEAD", "PUT", "POST"});
    String uri = data.consumeRemainingAsString();
    switch (GatewayRoute.parse(method, uri)) {
      case GatewayRoute.Refused r -> {
        if (r.status() != 400 && r.status() != 404 && r.status() != 405) {
          throw new AssertionError("unexpected status " + r.status() + " for " + uri);
        }
      }
      case GatewayRoute.NarInfo n -> {
        if (!NixBase32.isNix32(n.hash())) {
          throw new AssertionError("not a store hash: " + n.hash());
        }
      }
      case GatewayRoute.Nar n -> safeKey(n.key(), uri);
      case GatewayRoute.Proxy p -> safeKey(p.key(), uri);
      case GatewayRoute.Metrics m -> { }
      case GatewayRoute.CacheInfo c -> { }
    }
  }

  /** What reaches S3 never climbs out of the cache's keys. */
  private static void safeKey(String key, String uri) {
    if (key.isEmpty() || key.contains("..") || key.contains("//") || key.startsWith("/") || key.contains("%")
        || key.length() > 800) {
      throw new AssertionError("unsafe key " + key + " from " + uri);
    }
  }
}
