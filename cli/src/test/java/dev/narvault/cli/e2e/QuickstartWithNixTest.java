package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.cli.quickstart.Quickstart;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.StorePath;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command the quickstart prints works: the real Nix substitutes a generated path (and its reference). */
class QuickstartWithNixTest {
  @Test
  void printedNixCommand_substitutesAGeneratedPathWithItsReference(@TempDir Path dir) throws Exception {
    assumeTrue(RealNix.available(), "nix-store is not installed");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    try (Quickstart q = new Quickstart(new Quickstart.Settings(dir, 18, 10, 4, 0, 40, 64L << 20), out)) {
      q.start();
      String printed = bytes.toString(StandardCharsets.UTF_8);
      StorePath path = StorePath.parse(printed.lines().filter(l -> l.contains("nix-store --realise"))
          .findFirst().orElseThrow().replaceAll(".*--realise (\\S+).*", "$1"));
      NixPublicKey key = NixPublicKey.parse(printed.lines().filter(l -> l.startsWith("public key:"))
          .findFirst().orElseThrow().substring("public key:".length()).strip());
      RealNix.delete(List.of(path));
      try {
        RealNix.Result r = RealNix.realise(q.gateway().endpoint().toString(), key, List.of(path));
        assertEquals(0, r.exitCode(), r.output());
        String readme = Files.readString(Path.of(path.toString(), "README"));
        assertTrue(readme.contains("depends on /nix/store/"), readme);
        Path dependency = Path.of(readme.lines().filter(l -> l.startsWith("depends on ")).findFirst().orElseThrow()
            .substring("depends on ".length()));
        assertTrue(Files.isDirectory(dependency), "the reference was substituted too: " + dependency);
      } finally {
        RealNix.delete(List.of(path));
      }
    }
  }
}
