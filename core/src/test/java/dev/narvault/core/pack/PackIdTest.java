package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class PackIdTest {
  private static final String HASH = "0123456789abcdef".repeat(4);

  record Holding(PackId packId, List<PackId> others) {}

  @Test
  void toString_andJson_arePlainStrings() {
    PackId id = new PackId(HASH);
    assertEquals(HASH, id.toString());
    assertEquals("\"" + HASH + "\"", new String(JsonCodec.toJson(id), StandardCharsets.UTF_8));
    String json = new String(JsonCodec.toJson(new Holding(id, List.of(new PackId("p1")))), StandardCharsets.UTF_8);
    assertEquals("{\"packId\":\"" + HASH + "\",\"others\":[\"p1\"]}", json);
    assertEquals(new Holding(id, List.of(new PackId("p1"))),
        JsonCodec.parse(json.getBytes(StandardCharsets.UTF_8), Holding.class));
  }

  @Test
  void shortForm_isTheFirstTwelveCharacters() {
    assertEquals("0123456789ab", new PackId(HASH).shortForm());
    assertEquals("p12", new PackId("p12").shortForm(), "a synthetic id shorter than that stays whole");
  }

  @Test
  void constructor_refusesEmptyOrBlankIds_withTheBadValue() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new PackId("")).getMessage().contains("''"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new PackId("a b")).getMessage().contains("'a b'"));
    assertThrows(IllegalArgumentException.class, () -> new PackId(null));
    assertThrows(IllegalArgumentException.class, () -> new PackId("a\nb"));
  }

  @Test
  void compareTo_ordersAsTheStrings() {
    assertTrue(new PackId("a").compareTo(new PackId("b")) < 0);
    assertEquals(0, new PackId(HASH).compareTo(new PackId(HASH)));
  }
}
