package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class StorePathTest {
  private static final String HASH = "r1i15aj1yi38n7yyp4j2bw16hd4idzcp";

  @Test
  void parse_splitsHashAndName() {
    StorePath p = StorePath.parse("/nix/store/" + HASH + "-hello-2.12.1");
    assertEquals(HASH, p.hashPart());
    assertEquals("hello-2.12.1", p.name());
    assertEquals("/nix/store/" + HASH + "-hello-2.12.1", p.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "/nix/store/" + HASH, "/nix/store/" + HASH + "-", "/nix/store/" + HASH + "-.",
      "/nix/store/" + HASH + "-..", "/nix/store/" + HASH + "-.-x", "/nix/store/" + HASH + "-..-x",
      "/nix/store/" + HASH + "-a/b", "/nix/store/" + HASH + "-a b", "/usr/store/" + HASH + "-a",
      "/nix/store/e1i15aj1yi38n7yyp4j2bw16hd4idzcp-a", "/nix/store/short-a"})
  void parse_rejectsWhatNixRejects(String path) {
    assertThrows(IllegalArgumentException.class, () -> StorePath.parse(path));
  }

  @Test
  void parse_rejectsNameLongerThan211() {
    assertThrows(IllegalArgumentException.class, () -> StorePath.parse("/nix/store/" + HASH + "-" + "a".repeat(212)));
    assertEquals(211, StorePath.parse("/nix/store/" + HASH + "-" + "a".repeat(211)).name().length());
  }

  @Test
  void makeSourcePath_reproducesNixStoreAddPaths() throws IOException {
    NarInfo srcdir = NixFixtures.narInfo("xz", "srcdir");
    assertEquals(srcdir.storePath(), StorePath.makeSourcePath("srcdir", srcdir.narHash(), List.of()));
    NarInfo big = NixFixtures.narInfo("xz", "big.txt");
    assertEquals(big.storePath(), StorePath.makeSourcePath("big.txt", big.narHash(), List.of()));
  }

  @Test
  void makeSourcePath_dependsOnReferences() throws IOException {
    NarInfo srcdir = NixFixtures.narInfo("xz", "srcdir");
    StorePath withRef = StorePath.makeSourcePath("srcdir", srcdir.narHash(), List.of(srcdir.storePath()));
    assertEquals(false, withRef.equals(srcdir.storePath()));
  }
}
