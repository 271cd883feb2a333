package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The holder's request routing: every outside URI goes through {@link HolderRoute#parse}. */
class HolderRouteTest {
  private static final String ID = "ab".repeat(32);

  @Test
  void parse_knowsEveryRoute() {
    assertInstanceOf(HolderRoute.Status.class, HolderRoute.parse("GET", "/v1/status"));
    assertInstanceOf(HolderRoute.Metrics.class, HolderRoute.parse("GET", "/metrics"));
    assertInstanceOf(HolderRoute.Audit.class, HolderRoute.parse("POST", "/v1/audit"));
    assertInstanceOf(HolderRoute.Prove.class, HolderRoute.parse("POST", "/v1/prove"));
    assertEquals(new HolderRoute.Listing("", HolderRoute.MAX_LISTING), HolderRoute.parse("GET", "/v1/fragments"));
    assertEquals(new HolderRoute.Listing(ID, 5), HolderRoute.parse("GET", "/v1/fragments?after=" + ID + "&limit=5"));
    HolderRoute.Fragment put = (HolderRoute.Fragment) HolderRoute.parse("PUT", "/v1/fragments/" + ID + "?blockSize=4096");
    assertEquals(4096, put.blockSize());
    assertEquals(ID, put.id().hex());
    assertEquals(-1, ((HolderRoute.Fragment) HolderRoute.parse("PUT", "/v1/fragments/" + ID + "?blockSize=x"))
        .blockSize());
    assertEquals(ID, assertInstanceOf(HolderRoute.Restore.class,
        HolderRoute.parse("POST", "/v1/fragments/" + ID + "/restore")).id().hex());
  }

  @ParameterizedTest
  @CsvSource({
      "GET, /nope, 404",
      "POST, /v1/status, 405",
      "GET, /v1/audit, 405",
      "GET, /v1/prove, 405",
      "GET, /v1/fragments/abababababababababababababababababababababababababababababababab/restore, 405",
      "DELETE, /v1/fragments/abababababababababababababababababababababababababababababababab/restore, 405",
      "POST, /v1/fragments/xyz/restore, 400",
      "POST, /v1/fragments//restore, 400",
      "POST, /v1/fragments/" + "ab" + ", 405",
      "GET, /v1/fragments/xyz, 400",
      "GET, /v1/fragments/../identity.key, 400",
      "GET, /v1/fragments?limit=0, 400",
      "GET, /v1/fragments?limit=99999999999, 400",
      "GET, /v1/fragments?limit=10001, 400",
      "GET, /v1/status?%zz, 400"})
  void parse_refuses(String method, String uri, int status) {
    HolderRoute route = HolderRoute.parse(method, uri);
    assertEquals(status, assertInstanceOf(HolderRoute.Refused.class, route, route.toString()).status(), uri);
  }

  @FuzzTest(maxDuration = "60s")
  void route(FuzzedDataProvider data) {
    String method = data.pickValue(new String[] {"GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS"});
    String uri = data.consumeRemainingAsString();
    switch (HolderRoute.parse(method, uri)) {
      case HolderRoute.Refused r -> {
        if (r.status() != 400 && r.status() != 404 && r.status() != 405) {
          throw new AssertionError("unexpected status " + r.status() + " for " + uri);
        }
      }
      case HolderRoute.Listing l -> {
        if (l.limit() < 1 || l.limit() > HolderRoute.MAX_LISTING || l.after().length() > 64) {
          throw new AssertionError("listing out of bounds for " + uri);
        }
      }
      case HolderRoute.Fragment f -> {
        if (!uri.startsWith("/v1/fragments/" + f.id().hex())) {
          throw new AssertionError("fragment " + f.id() + " read out of " + uri);
        }
      }
      case HolderRoute.Status s -> { }
      case HolderRoute.Metrics m -> { }
      case HolderRoute.Audit a -> { }
      case HolderRoute.Prove p -> { }
      case HolderRoute.Restore r -> {
        if (!uri.startsWith("/v1/fragments/" + r.id().hex() + "/restore")) {
          throw new AssertionError("restore of " + r.id() + " read out of " + uri);
        }
      }
    }
  }
}
