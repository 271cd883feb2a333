package dev.narvault.core.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.access.RequestLogParser.Format;
import dev.narvault.core.access.RequestLogParser.Line;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The request log formats, as operators' logs have them, and what a hostile line does. */
class RequestLogParserTest {
  static final String HASH = "0c7bd3zc5dl07ws7r1xv64rfnb2f6zl5";
  static final String NAR = "nar/1w1fff338fvdw53sqgamddn1b2xgds473pv6y13gizdbqjv4i5p3.nar.xz";
  static final long NOW = Instant.parse("2024-06-01T00:00:00Z").toEpochMilli();
  static final long MAY_1_10H = Instant.parse("2024-05-01T10:00:00Z").toEpochMilli();

  private static Line parse(Format format, String line) {
    return new RequestLogParser(format, NOW).parse(line);
  }

  private static Line.Request request(String line) {
    return assertInstanceOf(Line.Request.class, parse(Format.AUTO, line));
  }

  @Test
  void common_fastlySyslogLine_isItsRequest() {
    String line = "<134>2024-05-01T10:00:01Z cache-fra-eddf8230075 nixcache[1234]: 203.0.113.9 - - "
        + "[01/May/2024:10:00:00 +0000] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 512 \"-\" \"Nix/2.18.1\"";
    assertEquals(new Line.Request(HASH, MAY_1_10H), request(line));
  }

  @Test
  void common_offsetIsApplied_andNarPathsBecomeKeys() {
    String line = "203.0.113.9 - - [01/May/2024:03:00:00 -0700] \"GET /" + NAR + "?x=1 HTTP/2.0\" 200 9";
    assertEquals(new Line.Request(NAR, MAY_1_10H), request(line));
    String prefixed = "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"HEAD https://cache.example/cache/" + NAR
        + " HTTP/1.1\" 200 0";
    assertEquals(new Line.Request(NAR, MAY_1_10H), request(prefixed));
  }

  @Test
  void common_otherMethodsPathsAndEmptyRequests_areNotCounted() {
    RequestLogParser p = new RequestLogParser(Format.COMMON, NOW);
    for (String line : List.of(
        "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"PUT /" + HASH + ".narinfo HTTP/1.1\" 200 0",
        "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"GET /nix-cache-info HTTP/1.1\" 200 50",
        "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"GET /tooshort.narinfo HTTP/1.1\" 404 0",
        "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"-\" 400 0",
        "")) {
      assertInstanceOf(Line.Ignored.class, p.parse(line), line);
    }
  }

  @Test
  void s3AccessLog_readsAreRequests_uploadsAndListingsAreNot() {
    String get = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be nix-cache "
        + "[01/May/2024:10:00:00 +0000] 192.0.2.3 - 3E57427F3EXAMPLE REST.GET.OBJECT " + NAR.replace("/", "%2F")
        + " \"GET /nix-cache/" + NAR + " HTTP/1.1\" 200 - 113 113 7 - \"-\" \"aws-sdk\" - s9lzHYrFp76Z SigV4";
    assertEquals(new Line.Request(NAR, MAY_1_10H), request(get));
    RequestLogParser p = new RequestLogParser(Format.S3_ACCESS, NOW);
    assertInstanceOf(Line.Request.class, p.parse(get));
    assertInstanceOf(Line.Ignored.class, p.parse(get.replace("REST.GET.OBJECT", "REST.PUT.OBJECT")), "an upload");
    assertInstanceOf(Line.Ignored.class, p.parse(get.replace("REST.GET.OBJECT", "REST.GET.BUCKET")), "a listing");
    assertEquals(new Line.Request(HASH, MAY_1_10H),
        p.parse(get.replace("REST.GET.OBJECT", "REST.HEAD.OBJECT").replace(NAR.replace("/", "%2F"), HASH + ".narinfo")));
    assertThrows(IllegalArgumentException.class, () -> p.parse(get.replace(NAR.replace("/", "%2F"), "-")));
  }

  @Test
  void cloudFront_readsItsColumnsByTheFieldsHeader() {
    RequestLogParser p = new RequestLogParser(Format.AUTO, NOW);
    assertInstanceOf(Line.Ignored.class, p.parse("#Version: 1.0"));
    assertInstanceOf(Line.Ignored.class,
        p.parse("#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status"));
    assertEquals(Format.CLOUDFRONT, p.format());
    assertEquals(new Line.Request(NAR, MAY_1_10H),
        p.parse("2024-05-01\t10:00:00\tFRA56-P1\t2048\t192.0.2.1\tGET\td111.cloudfront.net\t/" + NAR + "\t200"));
    assertInstanceOf(Line.Ignored.class,
        p.parse("2024-05-01\t10:00:00\tFRA56-P1\t2048\t192.0.2.1\tPOST\td111.cloudfront.net\t/" + NAR + "\t200"));
    assertThrows(IllegalArgumentException.class, () -> p.parse("2024-05-01\t10:00:00\tFRA56"), "too few fields");
    assertThrows(IllegalArgumentException.class,
        () -> p.parse("2024-13-01\t10:00:00\tFRA56-P1\t2048\t192.0.2.1\tGET\th\t/" + NAR + "\t200"), "month 13");
    // Another delivery with the columns in another order.
    p.parse("#Fields: cs-uri-stem cs-method time date");
    assertEquals(new Line.Request(HASH, MAY_1_10H), p.parse("/" + HASH + ".narinfo\tGET\t10:00:00\t2024-05-01"));
  }

  @Test
  void cloudFront_lineBeforeItsHeader_orAHeaderWithoutTheColumns_isBad() {
    RequestLogParser p = new RequestLogParser(Format.CLOUDFRONT, NOW);
    assertThrows(IllegalArgumentException.class, () -> p.parse("2024-05-01\t10:00:00\tGET\t/" + NAR));
    assertThrows(IllegalArgumentException.class, () -> p.parse("#Fields: date time sc-bytes"));
  }

  @Test
  void plain_hashOrStorePathThenEpochSeconds() {
    long seconds = MAY_1_10H / 1000;
    assertEquals(new Line.Request(HASH, MAY_1_10H), request(HASH + " " + seconds));
    assertEquals(new Line.Request(HASH, MAY_1_10H), request("/nix/store/" + HASH + "-glibc-2.38\t" + seconds + ".75"));
    assertEquals(new Line.Request(NAR, MAY_1_10H), parse(Format.PLAIN, NAR + " " + seconds));
    RequestLogParser p = new RequestLogParser(Format.PLAIN, NOW);
    assertInstanceOf(Line.Ignored.class, p.parse("# a comment"));
    for (String bad : List.of(HASH, HASH + " yesterday", HASH + " 1.2.3", "e" + HASH.substring(1) + " " + seconds,
        HASH + " " + seconds + " extra", HASH + " 99999999999999999999999")) {
      assertThrows(IllegalArgumentException.class, () -> p.parse(bad), bad);
    }
  }

  @Test
  void times_beforeTheCacheOrInTheFuture_areBad() {
    RequestLogParser p = new RequestLogParser(Format.COMMON, NOW);
    String future = "1.2.3.4 - - [01/May/2099:10:00:00 +0000] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 1";
    assertTrue(assertThrows(IllegalArgumentException.class, () -> p.parse(future)).getMessage().contains("range"));
    assertThrows(IllegalArgumentException.class, () -> p.parse(future.replace("2099", "1999")));
    assertThrows(IllegalArgumentException.class, () -> parse(Format.PLAIN, HASH + " 0"));
    // A day ahead of now is allowed (clocks differ); more is not.
    assertInstanceOf(Line.Request.class, parse(Format.PLAIN, HASH + " " + (NOW / 1000 + 3600)));
  }

  @Test
  void badDates_areBadLines() {
    RequestLogParser p = new RequestLogParser(Format.COMMON, NOW);
    for (String date : List.of("30/Feb/2024:10:00:00 +0000", "01/Foo/2024:10:00:00 +0000", "01/May/2024:25:00:00 +0000",
        "01/May/2024:10:00:00 +9999", "01/May/2024 10:00:00 +0000", "2024-05-01T10:00:00", "x")) {
      String line = "1.2.3.4 - - [" + date + "] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 1";
      assertThrows(IllegalArgumentException.class, () -> p.parse(line), date);
    }
    assertEquals(new Line.Request(HASH, MAY_1_10H), p.parse("[2024-05-01T12:00:00+02:00] \"GET /" + HASH
        + ".narinfo\""), "an ISO time in brackets");
  }

  @Test
  void hostileLines_areBadLines_notFailures() {
    RequestLogParser p = new RequestLogParser(Format.COMMON, NOW);
    String date = "[01/May/2024:10:00:00 +0000] ";
    for (String line : List.of(date + "\"GET /" + HASH + ".narinfo HTTP/1.1",
        date + "\"GET\" 200", date + "\"GET a b c d e\"", "[[[[[[[[[[[[[[[[]]]]]]]", date + "\"GET /nar/%zz HTTP/1.1\"",
        date + "\"GET /nar/%4 HTTP/1.1\"", "no time at all")) {
      assertThrows(IllegalArgumentException.class, () -> p.parse(line), line);
    }
    assertInstanceOf(Line.Ignored.class, p.parse(date + "\"GET /nar/../../etc/passwd HTTP/1.1\" 200 1"));
    assertInstanceOf(Line.Ignored.class, p.parse(date + "\"GET /nar/" + "a".repeat(100_000) + " HTTP/1.1\" 200 1"),
        "a key too long to be one");
    assertThrows(IllegalArgumentException.class, () -> new RequestLogParser(Format.AUTO, NOW).parse("\u0000\u00ff\u0001"));
  }

  @Test
  void anyBytes_parseOrThrowIllegalArgument_nothingElse() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    String template = "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"GET /" + NAR + " HTTP/1.1\" 200 1";
    for (int i = 0; i < 20_000; i++) {
      String line;
      if (random.nextBoolean()) {
        byte[] bytes = new byte[random.nextInt(200)];
        random.nextBytes(bytes);
        line = new String(bytes, StandardCharsets.ISO_8859_1);
      } else {
        char[] chars = template.toCharArray();
        for (int j = random.nextInt(4); j >= 0; j--) {
          chars[random.nextInt(chars.length)] = "[]\"/ %:+-0aZ\t".charAt(random.nextInt(13));
        }
        line = new String(chars);
      }
      for (Format f : Format.values()) {
        try {
          new RequestLogParser(f, NOW).parse(line);
        } catch (IllegalArgumentException expected) {
          // a bad line
        } catch (RuntimeException e) {
          throw new AssertionError("seed " + seed + ", format " + f + ", line '" + line + "'", e);
        }
      }
    }
  }

  @Test
  void formatNames_parse() {
    assertEquals(Format.S3_ACCESS, Format.parse("s3"));
    assertEquals(Format.COMMON, Format.parse("Fastly"));
    assertThrows(IllegalArgumentException.class, () -> Format.parse("json"));
  }
}
