package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Trashed copies, on every backend (SQLite, and PostgreSQL when CI starts one). */
class TrashedCopiesContractTest {
  @TempDir
  static Path dir;

  static Stream<String> backends() {
    return CatalogContractTest.backends();
  }

  @ParameterizedTest
  @MethodSource("backends")
  void record_of_settle_andForgetOlderThan(String backend) throws Exception {
    try (Catalog c = Catalog.open(CatalogContractTest.freshUrl(backend, dir))) {
      for (int h = 0; h < 6; h++) {
        CatalogContractTest.register(c, "h" + h, "http://h" + h, 1);
      }
      Manifest m = CatalogContractTest.manifest(2, 7);
      PackId packId = ManifestCodec.packId(m);
      c.recordPack(packId, m, "{}", List.of(new HolderId("h0"), new HolderId("h1"), new HolderId("h2"),
          new HolderId("h3"), new HolderId("h4")), 1);
      String id3 = m.fragments().get(3).id().hex();
      TrashedCopies trashed = c.trashed();
      TrashedCopies.Trashed old = new TrashedCopies.Trashed(packId, 1, m.fragments().get(1).id().hex(),
          new HolderId("h5"), 100);
      TrashedCopies.Trashed recent = new TrashedCopies.Trashed(packId, 3, id3, new HolderId("h5"), 5_000);
      trashed.record(old);
      trashed.record(recent);
      trashed.record(recent);
      assertEquals(List.of(old, recent), trashed.of(packId, 0));
      assertEquals(List.of(recent), trashed.of(packId, 1_000), "only what the trash may still hold");

      trashed.settle(recent, true);
      assertEquals(List.of(old), trashed.of(packId, 0));
      FragmentPlacement back = c.placements(packId).stream()
          .filter(p -> p.fragmentIndex() == 3 && p.holderId().equals(new HolderId("h5"))).findFirst().orElseThrow();
      assertEquals(FragmentState.UNVERIFIED, back.state(), "recorded, to count once audited");
      assertEquals(id3, back.fragmentId());

      // A row of another state for that index on that holder (the copy was put back there later and
      // found corrupt) becomes the restored copy's row, to be audited: not left corrupt and unused.
      assertTrue(c.custody().revive(packId, 3, new HolderId("h5")));
      c.custody().markCorrupt(packId, 3, new HolderId("h5"));
      assertEquals(FragmentState.CORRUPT, c.placements(packId).stream()
          .filter(p -> p.fragmentIndex() == 3 && p.holderId().equals(new HolderId("h5"))).findFirst().orElseThrow()
          .state());
      trashed.record(recent);
      trashed.settle(recent, true);
      assertEquals(FragmentState.UNVERIFIED, c.placements(packId).stream()
          .filter(p -> p.fragmentIndex() == 3 && p.holderId().equals(new HolderId("h5"))).findFirst().orElseThrow()
          .state());

      assertEquals(1, trashed.forgetOlderThan(101));
      assertTrue(trashed.of(packId, 0).isEmpty());
      trashed.settle(old, false); // repeating, or settling what was forgotten, is harmless
    }
  }
}
