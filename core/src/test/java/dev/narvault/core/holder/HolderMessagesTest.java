package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.pack.FragmentId;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HolderMessagesTest {
  private static final String HEARTBEAT =
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2,\"version\":\"v\"}";

  @Test
  void everyMessage_survivesTheCodec() {
    List<Object> messages = List.of(
        new HolderMessages.Registration("register", "h1", 1, "narvault-holder:AAAA", "http://h:1", 100, 10, 2, "v",
            "alice", "Lyon"),
        new HolderMessages.Heartbeat("heartbeat", "h1", 2, 10, 2, "v"),
        new HolderMessages.ScrubReport("scrub-report", "h1", 3, "ab".repeat(32)),
        new HolderMessages.Exit("exit", "h1", 4),
        new HolderMessages.Away("away", "h1", 5, 86_400_000),
        new HolderMessages.Status("h1", "narvault-holder:AAAA", 100, 10, 2, 7, "v",
            new HolderMessages.QuotaUse("2026-03", 5, 0), HolderMessages.Standing.unknown("h1")),
        new HolderMessages.QuotaUse("2026-12", 1L << 40, 1L << 41),
        new HolderMessages.Standing("h1", "vetting", false, 42, 100, 1_000, 0.995, 0.7, 12, "203.0.113.7", 900, -61_000,
            List.of("your clock is 61 s behind the coordinator's"), 5_000, 600_000, 1_000),
        new HolderMessages.AuditAnswer("0f".repeat(32)),
        new HolderMessages.Listing(List.of("ab".repeat(32)), true));
    for (Object m : messages) {
      assertEquals(m, JsonCodec.parse(JsonCodec.toJson(m), m.getClass()), m.getClass().getSimpleName());
    }
  }

  @Test
  void parseTolerant_readsAStandingFromAnOlderOrNewerCoordinator() {
    // An older coordinator: no away fields (they read as 0). A newer one: a field this holder does not know.
    String older = "{\"holderId\":\"h1\",\"state\":\"healthy\",\"vetted\":true,\"auditsPassed\":3,"
        + "\"auditsToVet\":0,\"vettedFromMillis\":0,\"auditScore\":1.0,\"suspensionScore\":1.0,"
        + "\"countedFragments\":4,\"provenAddress\":\"\",\"reachedMillis\":1,\"clockSkewMillis\":0,"
        + "\"warnings\":[],\"atMillis\":9}";
    HolderMessages.Standing s = JsonCodec.parseTolerant(bytes(older), HolderMessages.Standing.class);
    assertEquals(0, s.awayUntilMillis());
    assertEquals(4, s.countedFragments());
    String newer = older.replace("\"atMillis\":9", "\"atMillis\":9,\"somethingNew\":[1,2]");
    assertEquals(s, JsonCodec.parseTolerant(bytes(newer), HolderMessages.Standing.class));
    // The strict reader refuses both; the tolerant one still refuses what is not a standing.
    assertThrows(IllegalArgumentException.class, () -> JsonCodec.parse(bytes(older), HolderMessages.Standing.class));
    assertThrows(IllegalArgumentException.class,
        () -> JsonCodec.parseTolerant(bytes(older.replace("0.0", "2.0").replace("1.0", "7.0")),
            HolderMessages.Standing.class));
  }

  @Test
  void parse_acceptsTheWellFormedHeartbeat() {
    HolderMessages.Heartbeat h = JsonCodec.parse(bytes(HEARTBEAT), HolderMessages.Heartbeat.class);
    assertEquals(10, h.usedBytes());
    assertEquals("h1", h.holderId());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2}",
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2,\"version\":\"v\",\"admin\":1}",
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":\"10\",\"fragments\":2,\"version\":\"v\"}",
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10.5,\"fragments\":2,\"version\":\"v\"}",
      "{\"type\":\"heartbeat\",\"holderId\":null,\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2,\"version\":\"v\"}",
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":-1,\"fragments\":2,\"version\":\"v\"}",
      "{\"type\":\"exit\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2,\"version\":\"v\"}",
      "{\"type\":\"heartbeat\",\"holderId\":\"h1\",\"timestampMillis\":5,\"usedBytes\":10,\"fragments\":2,\"version\":\"v\"} {}",
      "[1,2]", "null", "", "{"})
  void parse_refusesWhatIsNotExactlyAHeartbeat(String json) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> JsonCodec.parse(bytes(json), HolderMessages.Heartbeat.class));
    assertTrue(e.getMessage().contains("Heartbeat"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "{\"month\":\"2026-13\",\"servedBytes\":1,\"quotaBytes\":0}",
      "{\"month\":\"2026-3\",\"servedBytes\":1,\"quotaBytes\":0}",
      "{\"month\":\"2026-03\",\"servedBytes\":-1,\"quotaBytes\":0}",
      "{\"month\":\"2026-03\",\"servedBytes\":1,\"quotaBytes\":-1}",
      "{\"month\":\"2026-03\",\"servedBytes\":1}"})
  void quotaUse_refusesAMonthThatIsNoMonth_andNegativeCounts(String json) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> JsonCodec.parse(bytes(json), HolderMessages.QuotaUse.class));
    assertTrue(e.getMessage().contains("QuotaUse"), e.getMessage());
  }

  @Test
  void auditChallenge_wireFormRoundTrips_andRefusesBadPairs() {
    AuditChallenge c = AuditChallenge.random(new FragmentId("cd".repeat(32)), 1 << 20, 3, new Random(1));
    assertEquals(c, AuditChallenge.fromJson(c.toJson()));
    String nonce = "\"" + java.util.Base64.getEncoder().encodeToString(new byte[16]) + "\"";
    for (String ranges : List.of("[[1]]", "[[1,2,3]]", "[[\"1\",2]]", "[[1.5,2]]", "[[1,null]]", "{}")) {
      String json = "{\"fragmentId\":\"" + "cd".repeat(32) + "\",\"nonce\":" + nonce + ",\"ranges\":" + ranges + "}";
      assertThrows(IllegalArgumentException.class, () -> AuditChallenge.fromJson(json), ranges);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
