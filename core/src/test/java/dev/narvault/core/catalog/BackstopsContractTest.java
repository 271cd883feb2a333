package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.narvault.core.pack.PackId;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Backstops} on every backend ({@link CatalogContractTest#backends}). */
class BackstopsContractTest {
  private static final PackId PACK = new PackId("ab".repeat(32));
  private static final String SHA = "0123456789abcdef".repeat(4);

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dir;

  static java.util.stream.Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void record_isFoundByPack_andRecordingAgainReplacesIt(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      assertEquals(Optional.empty(), c.backstops().of(PACK));
      assertEquals(0, c.backstops().count());
      Backstops.Backstop first = new Backstops.Backstop(PACK, "b1", "packs/" + PACK.hex(), 1000, Optional.of(SHA));
      c.backstops().record(first, 1);
      assertEquals(Optional.of(first), c.backstops().of(PACK));
      Backstops.Backstop moved = new Backstops.Backstop(PACK, "b2", "packs/" + PACK.hex(), 1001, Optional.empty());
      c.backstops().record(moved, 2);
      assertEquals(Optional.of(moved), c.backstops().of(PACK));
      assertEquals(1, c.backstops().count());
    }
  }

  @Test
  void backstop_refusesWhatCannotBeOne_withTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Backstops.Backstop(PACK, "b", "k", 1, Optional.of("not-a-hash")));
    assertEquals(true, e.getMessage().contains("not-a-hash"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new Backstops.Backstop(PACK, "", "k", 1, Optional.of(SHA)));
    assertThrows(IllegalArgumentException.class, () -> new Backstops.Backstop(PACK, "b", "k", -1, Optional.of(SHA)));
  }
}
