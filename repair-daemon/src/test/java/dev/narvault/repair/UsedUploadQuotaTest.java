package dev.narvault.repair;

import static dev.narvault.repair.CoordinatorFixture.TOTAL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderRefusedException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.repair.CoordinatorFixture.Holder;
import dev.narvault.repair.CoordinatorFixture.Pack;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder whose monthly upload quota is used answers fragment reads 503: the coordinator's audits
 * (signed audit reads) still pass, and the gateway's reader decodes around the holder instead of
 * failing the read, as it does around any holder that cannot serve.
 */
class UsedUploadQuotaTest {
  private static final long QUOTA = 64 * 1024;

  @TempDir
  Path dir;

  @Test
  void aHolderOverItsQuota_passesAudits_andIsReadAround() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 0)) {
      for (int i = 0; i < TOTAL; i++) {
        f.addHolder(config -> config.withUploadQuota(QUOTA));
      }
      Pack pack = f.placePack(31);
      Holder first = f.holderOf(pack, 0);
      HolderClient client = new HolderClient(Duration.ofSeconds(5));
      FragmentId id = pack.manifest().fragments().getFirst().id();
      int size = (int) pack.manifest().layout().fragmentSize();
      // Whole fragments, then ever smaller ranges, until not one byte more fits in the month.
      long served = 0;
      for (int length = size; length > 0; ) {
        try {
          client.read(first.endpoint, id, 0, length);
          served += length;
          assertTrue(served <= QUOTA, "served " + served + " bytes, past the quota");
        } catch (HolderRefusedException e) {
          assertEquals(503, e.status(), e.getMessage());
          length /= 2;
        }
      }
      assertEquals(QUOTA, served);

      FragmentPlacement copy = f.row(pack, 0, first).orElseThrow();
      assertEquals(Auditor.Outcome.PASSED, f.coordinator.auditor().audit(f.record(first), copy),
          "the audit's signed read is answered");
      assertEquals(List.of(true), f.catalog.auditResults(first.id()));

      Archive archive = new Archive(f.catalog, client, Optional.of(TrustedKeys.of(f.archiveKey.publicKey())));
      int readAround = 0;
      for (Manifest.Nar n : pack.manifest().nars()) {
        ArchivedNar nar = archive.nar(n.key()).orElseThrow();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readAround += archive.read(nar, 0, nar.length(), out).readAround();
        assertEquals(nar.length(), out.size(), "the whole NAR, every byte verified");
      }
      assertTrue(readAround >= 1, "fragment 0 was read around: " + readAround);
    }
  }
}
