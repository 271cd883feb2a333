package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Listing checkpoints, on every backend (SQLite, and PostgreSQL when CI starts one). */
class ListingCheckpointsContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void get_isWhatWasLastSaved_perScope(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      ListingCheckpoints checkpoints = c.listingCheckpoints();
      assertEquals(Optional.empty(), checkpoints.get("s3://cache shard 1/2"), "never saved");
      checkpoints.save("s3://cache shard 1/2", "0a.narinfo", 1_000);
      checkpoints.save("s3://cache shard 2/2", "zz.narinfo", 1_000);
      checkpoints.save("s3://cache shard 1/2", "0b.narinfo", 2_000);
      assertEquals(Optional.of("0b.narinfo"), checkpoints.get("s3://cache shard 1/2"));
      assertEquals(Optional.of("zz.narinfo"), checkpoints.get("s3://cache shard 2/2"), "scopes apart");
      assertEquals(Optional.empty(), checkpoints.get("s3://other shard 1/2"));
      assertEquals(Map.of("s3://cache shard 1/2", "0b.narinfo", "s3://cache shard 2/2", "zz.narinfo"), checkpoints.all());
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void save_lastWriterWins_evenBackwards(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      ListingCheckpoints checkpoints = c.listingCheckpoints();
      checkpoints.save("s", "9.narinfo", 1_000);
      checkpoints.save("s", "1.narinfo", 2_000);
      assertEquals(Optional.of("1.narinfo"), checkpoints.get("s"), "every saved key is safe on its own");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void clear_startsOver_andRepeatingIsHarmless(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      ListingCheckpoints checkpoints = c.listingCheckpoints();
      checkpoints.save("a", "k.narinfo", 1_000);
      checkpoints.save("b", "k.narinfo", 1_000);
      checkpoints.clear("a");
      checkpoints.clear("a");
      checkpoints.clear("never-saved");
      assertEquals(Optional.empty(), checkpoints.get("a"));
      assertEquals(Optional.of("k.narinfo"), checkpoints.get("b"), "other scopes stay");
      checkpoints.save("a", "m.narinfo", 3_000);
      assertEquals(Optional.of("m.narinfo"), checkpoints.get("a"), "a new pass saves again");
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void save_withoutScopeOrKey_isRefused(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      ListingCheckpoints checkpoints = c.listingCheckpoints();
      assertThrows(IllegalArgumentException.class, () -> checkpoints.save("", "k", 1));
      assertThrows(IllegalArgumentException.class, () -> checkpoints.save("s", "", 1));
      assertThrows(IllegalArgumentException.class, () -> checkpoints.get(" "));
    }
  }
}
