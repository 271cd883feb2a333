package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.narvault.core.nix.RealNix;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The holder's NixOS module parses with the real Nix, and offers the options volunteers set. */
class NixosModuleTest {
  private static final Path MODULE = Path.of(System.getProperty("user.dir")).getParent().resolve("nixos/holder.nix");

  @Test
  void module_parsesWithNixInstantiate() throws Exception {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/nix-instantiate")), "nix-instantiate is not installed");
    RealNix.Result r = RealNix.run("nix-instantiate", "--parse", MODULE.toString());
    assertEquals(0, r.exitCode(), r.output());
    RealNix.Result broken = RealNix.run("nix-instantiate", "--parse", "-E", Files.readString(MODULE).replace("in\n{", "{"));
    assertTrue(broken.exitCode() != 0, "a broken module must not parse: the check can fail");
  }

  @Test
  void module_declaresTheOptionsAndHardening() throws Exception {
    String text = Files.readString(MODULE);
    for (String option : new String[] {"enable = mkEnableOption", "package = lib.mkPackageOption", "dataDir = mkOption",
        "capacity = mkOption", "maxUploadSpeed = mkOption", "coordinator = mkOption",
        "coordinatorPublicKeys = mkOption",
        "retiredCoordinatorPublicKeys = mkOption",
        "port = mkOption", "openFirewall = mkOption", "DynamicUser = true", "StateDirectory", "ProtectSystem = \"strict\"",
        "NoNewPrivileges = true", "RestrictAddressFamilies", "SystemCallFilter", "MemoryDenyWriteExecute = false"}) {
      assertTrue(text.contains(option), "module lacks " + option);
    }
  }
}
