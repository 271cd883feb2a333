package dev.narvault.core.holder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.json.JsonCodec;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HolderIdTest {
  private static final String ID = "0123456789abcdfghijklmnpqrsvwxyz";

  record Listed(HolderId holderId, long capacityBytes) {}

  @Test
  void toString_andJson_arePlainStrings() {
    HolderId id = new HolderId(ID);
    assertEquals(ID, id.toString());
    String json = new String(JsonCodec.toJson(new Listed(id, 5)), StandardCharsets.UTF_8);
    assertEquals("{\"holderId\":\"" + ID + "\",\"capacityBytes\":5}", json);
    assertEquals(new Listed(id, 5), JsonCodec.parse(json.getBytes(StandardCharsets.UTF_8), Listed.class));
  }

  @Test
  void shortForm_isTheFirstTwelveCharacters() {
    assertEquals("0123456789ab", new HolderId(ID).shortForm());
    assertEquals("h3", new HolderId("h3").shortForm());
  }

  @Test
  void constructor_refusesEmptyOrBlankIds_withTheBadValue() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new HolderId(" ")).getMessage().contains("' '"));
    assertThrows(IllegalArgumentException.class, () -> new HolderId(""));
    assertThrows(IllegalArgumentException.class, () -> new HolderId(null));
  }
}
