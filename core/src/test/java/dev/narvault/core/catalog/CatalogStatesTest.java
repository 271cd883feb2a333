package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The catalog's state enums keep the exact column text they replaced, and refuse any other. */
class CatalogStatesTest {
  @Test
  void fragmentStates_keepTheirColumnText() {
    assertEquals(List.of("stored", "corrupt", "superseded", "unverified"),
        Arrays.stream(FragmentState.values()).map(FragmentState::sql).toList());
    for (FragmentState s : FragmentState.values()) {
      assertEquals(s, FragmentState.parse(s.sql()));
      assertEquals(s.sql(), s.toString());
    }
  }

  @Test
  void holderStates_keepTheirColumnText() {
    assertEquals(List.of("ok", "suspect", "disqualified"),
        Arrays.stream(AuditState.values()).map(AuditState::sql).toList());
    assertEquals(List.of("online", "exiting"), Arrays.stream(HolderStatus.values()).map(HolderStatus::sql).toList());
    for (AuditState s : AuditState.values()) {
      assertEquals(s, AuditState.parse(s.sql()));
    }
    for (HolderStatus s : HolderStatus.values()) {
      assertEquals(s, HolderStatus.parse(s.sql()));
    }
  }

  @Test
  void parse_namesTheBadValue() {
    for (String bad : List.of("STORED", "lost", "")) {
      var e = assertThrows(IllegalArgumentException.class, () -> FragmentState.parse(bad));
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
    }
    assertTrue(assertThrows(IllegalArgumentException.class, () -> AuditState.parse("OK")).getMessage()
        .contains("'OK'"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> HolderStatus.parse("offline")).getMessage()
        .contains("'offline'"));
  }
}
