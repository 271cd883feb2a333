package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.RealNix;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The holder's NixOS module, evaluated with nixpkgs' own lib (an unmodified copy beside the
 * project, at ../shared/nixpkgs-lib/lib): its assertions refuse a bad configuration with a clear
 * message, and the ExecStart it renders, run with this build of narvault in place of the package,
 * starts a holder that answers. Skipped where nix-instantiate or the lib copy is missing.
 */
class NixosModuleEvalTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Path LIB = ROOT.resolve("../shared/nixpkgs-lib/lib").normalize();

  @TempDir
  Path dir;

  private static void assumeNix() {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/nix-instantiate")), "nix-instantiate is not installed: skipped");
    assumeTrue(Files.isRegularFile(LIB.resolve("default.nix")), "no nixpkgs lib at " + LIB + ": skipped");
  }

  /** A package whose bin/narvault runs this build (the test's class path). */
  private Path fakePackage() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("pkg/bin"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path script = bin.resolve("narvault");
    Files.writeString(script, "#!/bin/sh\nexec '" + java + "' --add-modules jdk.incubator.vector -cp '"
        + System.getProperty("java.class.path") + "' dev.narvault.cli.Narvault \"$@\"\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir.resolve("pkg");
  }

  private RealNix.Result evaluate(Path pkg, Path data, int port, String key) throws Exception {
    Path eval = dir.resolve("eval-holder.nix");
    try (InputStream in = getClass().getResourceAsStream("/nixos/eval-holder.nix")) {
      Files.write(eval, in.readAllBytes());
    }
    return RealNix.run("nix-instantiate", "--eval", "--strict", "--json", "--read-write-mode", eval.toString(),
        "--arg", "libPath", LIB.toString(), "--arg", "modulePath", ROOT.resolve("nixos/holder.nix").toString(),
        "--argstr", "pkgPath", pkg.toString(), "--argstr", "dataDir", data.toString(), "--arg", "port",
        Integer.toString(port), "--argstr", "key", key);
  }

  @Test
  void holderModule_rendersAConfigFile_whoseExecStartStartsAHolderThatAnswers() throws Exception {
    assumeNix();
    Path pkg = fakePackage();
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    String key = NixSecretKey.generate("coordinator-1", new SecureRandom()).publicKey().toString();
    RealNix.Result r = evaluate(pkg, dir.resolve("data"), port, key);
    assertEquals(0, r.exitCode(), r.output());
    String execStart = new ObjectMapper().readTree(r.output().strip().lines().reduce((a, b) -> b).orElseThrow())
        .asText();
    assertTrue(execStart.startsWith(pkg + "/bin/narvault holder --config /nix/store/"), execStart);
    Path config = Path.of(execStart.substring(execStart.indexOf("--config ") + "--config ".length()));
    JsonNode options = new ObjectMapper().readTree(Files.readAllBytes(config));
    assertEquals(port, options.get("port").asInt(), "settings.port and port render one port: " + options);
    assertEquals("8MiB", options.get("scrub-speed").asText(), "settings are in the file");

    List<String> command = new ArrayList<>(List.of(execStart.split(" ")));
    Process holder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("holder.log").toFile()).start();
    try {
      HolderClient client = new HolderClient(Duration.ofSeconds(2));
      HolderMessages.Status status = null;
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (status == null) {
        try {
          status = client.status(URI.create("http://127.0.0.1:" + port));
        } catch (java.io.IOException notYet) {
          assertTrue(System.nanoTime() < deadline && holder.isAlive(),
              "the module's holder did not answer: " + Files.readString(dir.resolve("holder.log")));
          Thread.sleep(100);
        }
      }
      assertEquals(10L << 30, status.capacityBytes(), "the module's default capacity, from the config file");
      assertTrue(Files.exists(dir.resolve("data/identity.key")), "its data directory is the module's dataDir");
    } finally {
      holder.destroy();
      holder.waitFor();
    }
  }

  @Test
  void holderModule_withoutTheCoordinatorsKey_failsItsAssertion_sayingWhy() throws Exception {
    assumeNix();
    RealNix.Result r = evaluate(fakePackage(), dir.resolve("data"), 7070, "");
    assertNotEquals(0, r.exitCode());
    assertTrue(r.output().contains("coordinatorPublicKey must be set"), r.output());
  }
}
