package dev.narvault.encoder;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A second narinfo may share an archived NAR object only if it signs the same NAR. */
class AliasConflictTest {
  private static NarInfo info(String name, byte[] nar, String url, Sha256Hash fileHash, long fileSize) {
    Sha256Hash narHash = Sha256Hash.of(nar);
    return NarInfo.create(StorePath.makeSourcePath(name, narHash, List.of()), url, "xz", fileHash, fileSize, narHash,
        nar.length, List.of());
  }

  @Test
  void aliasConflict_acceptsTheSameNar_refusesAnotherNarBehindTheSameObject() {
    byte[] nar = "the nar".getBytes(StandardCharsets.UTF_8);
    byte[] other = "another nar".getBytes(StandardCharsets.UTF_8);
    Sha256Hash file = Sha256Hash.of("compressed".getBytes(StandardCharsets.UTF_8));
    NarInfo verified = info("first", nar, "nar/x.nar.xz", file, 10);
    assertNull(Migration.aliasConflict(verified, info("twin", nar, "nar/x.nar.xz", file, 10)));
    assertNotNull(Migration.aliasConflict(verified, info("impostor", other, "nar/x.nar.xz", file, 10)),
        "signs another NarHash: the shared object's bytes were never checked against it");
    assertNotNull(Migration.aliasConflict(verified,
        info("odd", nar, "nar/x.nar.xz", Sha256Hash.of(new byte[] {1}), 10)), "another FileHash");
  }
}
