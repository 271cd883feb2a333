package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.RealNix;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
 * The NixOS modules for holder, coordinator and gateway, evaluated with nixpkgs' own lib (an
 * unmodified copy beside the project, at ../shared/nixpkgs-lib/lib): each renders its options and
 * settings to a JSON config file, hands secrets over as systemd credentials, and the ExecStart it
 * renders, run with this build of narvault in place of the package (given as {@code package}, or
 * as {@code pkgs.narvault}, the option's default; and the credentials laid out as systemd would),
 * starts a server that answers; a configuration it cannot work with fails an assertion saying why.
 * The holder's {@code narvault-holder-exit} wrapper, run against a coordinator and a holder started
 * from their modules, announces that holder's exit. Skipped where nix-instantiate or the lib copy
 * is missing.
 */
class NixosModuleEvalTest {
  private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
  private static final Path LIB = ROOT.resolve("../shared/nixpkgs-lib/lib").normalize();
  private static final ObjectMapper JSON = new ObjectMapper();

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

  /**
   * Evaluates {@code module} with {@code cfg}; the fake package is the module's {@code package}
   * option, or with {@code packageFromPkgs} left to its default, {@code pkgs.narvault}.
   */
  private RealNix.Result evaluate(String module, String service, ObjectNode cfg, boolean packageFromPkgs)
      throws Exception {
    Path eval = dir.resolve("eval-module.nix");
    try (InputStream in = getClass().getResourceAsStream("/nixos/eval-module.nix")) {
      Files.write(eval, in.readAllBytes());
    }
    return RealNix.run("nix-instantiate", "--eval", "--strict", "--json", "--read-write-mode", eval.toString(),
        "--arg", "libPath", LIB.toString(), "--arg", "modulePath", ROOT.resolve("nixos/" + module).toString(),
        "--argstr", "service", service, "--argstr", "cfgJson", JSON.writeValueAsString(cfg),
        "--argstr", "pkgPath", fakePackage().toString(), "--arg", "packageFromPkgs", String.valueOf(packageFromPkgs));
  }

  /** The unit as evaluated: its ExecStart and credentials, and the packages the module installs by name. */
  private record Unit(String execStart, List<String> credentials, JsonNode serviceConfig,
      java.util.Map<String, Path> systemPackages) {
    /** The JSON config file ExecStart names. */
    JsonNode config() throws Exception {
      return JSON.readTree(Files.readAllBytes(Path.of(execStart.substring(execStart.indexOf("--config ") + 9))));
    }
  }

  private Unit unit(String module, String service, ObjectNode cfg, boolean packageFromPkgs) throws Exception {
    RealNix.Result r = evaluate(module, service, cfg, packageFromPkgs);
    assertEquals(0, r.exitCode(), r.output());
    JsonNode out = JSON.readTree(r.output().strip().lines().reduce((a, b) -> b).orElseThrow());
    List<String> credentials = new ArrayList<>();
    out.get("loadCredential").forEach(c -> credentials.add(c.asText()));
    java.util.Map<String, Path> packages = new java.util.TreeMap<>();
    out.get("systemPackages").forEach(p -> packages.put(p.get("name").asText(), Path.of(p.get("path").asText())));
    return new Unit(out.get("execStart").asText(), credentials, out.get("serviceConfig"), packages);
  }

  /**
   * Starts the unit's ExecStart as systemd would (credentials copied into $CREDENTIALS_DIRECTORY),
   * its output in {@code name}.log.
   */
  private Process start(Unit unit, String name) throws Exception {
    Path credentials = Files.createDirectories(dir.resolve("credentials-" + name));
    for (String c : unit.credentials()) {
      String[] nameAndPath = c.split(":", 2);
      Files.copy(Path.of(nameAndPath[1]), credentials.resolve(nameAndPath[0]));
    }
    ProcessBuilder pb = new ProcessBuilder(List.of(unit.execStart().split(" "))).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().put("CREDENTIALS_DIRECTORY", credentials.toString());
    return pb.start();
  }

  /** Asks {@code url} until it answers 200 (within a minute, while {@code server} lives); returns the answer. */
  private String await(Process server, String name, URI url) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return r.body();
        }
      } catch (java.io.IOException notYet) {
        // not listening yet
      }
      assertTrue(System.nanoTime() < deadline && server.isAlive(),
          "the module's server did not answer " + url + ": " + Files.readString(dir.resolve(name + ".log")));
      Thread.sleep(100);
    }
  }

  private static void stop(Process server) throws InterruptedException {
    server.destroy();
    server.waitFor();
  }

  /** Runs the unit's ExecStart until {@code url} answers 200; returns the answer. */
  private String startAndAsk(Unit unit, URI url) throws Exception {
    Process server = start(unit, "server");
    try {
      return await(server, "server", url);
    } finally {
      stop(server);
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void holderModule_startsAHolderThatAnswers_settingsOverTheTypedOptions() throws Exception {
    assumeNix();
    int port = freePort();
    String current = NixSecretKey.generate("coordinator-2", new SecureRandom()).publicKey().toString();
    String retired = NixSecretKey.generate("coordinator-1", new SecureRandom()).publicKey().toString();
    ObjectNode cfg = JSON.createObjectNode().put("dataDir", dir.resolve("data").toString()).put("port", port)
        .put("bind", "127.0.0.1").put("dashboardPort", 0);
    cfg.putArray("coordinatorPublicKeys").add(current);
    cfg.putArray("retiredCoordinatorPublicKeys").addObject().put("key", retired).put("until", "2027-01-31");
    cfg.putObject("settings").put("scrub-speed", "8MiB").put("port", port);
    Unit unit = unit("holder.nix", "narvault-holder", cfg, true);
    assertEquals(JSON.createArrayNode().add(current), unit.config().get("coordinator-public-key"));
    assertEquals(JSON.createArrayNode().add(retired + "@2027-01-31"),
        unit.config().get("retired-coordinator-public-key"), "a retired key with its date, as the holder takes it");
    assertTrue(unit.execStart().startsWith(dir.resolve("pkg") + "/bin/narvault holder --config /nix/store/"),
        unit.execStart());
    assertEquals(port, unit.config().get("port").asInt(), "settings.port and port render one port");
    assertEquals("0", unit.config().get("max-upload-per-month").asText(), "no monthly upload quota by default");
    assertEquals("8MiB", unit.config().get("scrub-speed").asText());
    assertEquals("NARVAULT_JAVA_OPTS=-Xmx512m", unit.serviceConfig().get("Environment").get(0).asText());
    assertEquals(16384, unit.serviceConfig().get("LimitNOFILE").asInt());
    assertEquals(78, unit.serviceConfig().get("RestartPreventExitStatus").asInt(), "refused for good: not restarted");
    String status = startAndAsk(unit, URI.create("http://127.0.0.1:" + port + "/v1/status"));
    assertEquals(10L << 30, JSON.readTree(status).get("capacityBytes").asLong(), "the module's default capacity");
    assertTrue(Files.exists(dir.resolve("data/identity.key")), "its data directory is the module's dataDir");
    // Without a coordinator, the exit wrapper has no one to tell, and says so.
    Process exit = new ProcessBuilder("sh", unit.systemPackages().get("narvault-holder-exit").toString())
        .redirectErrorStream(true).start();
    String said = new String(exit.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(1, exit.waitFor(), said);
    assertTrue(said.contains("coordinator is not set"), said);
  }

  @Test
  void holderModule_exitWrapper_announcesTheExitOfTheServicesHolder_toTheServicesCoordinator() throws Exception {
    assumeNix();
    int coordinatorPort = freePort();
    NixSecretKey coordinatorKey = NixSecretKey.generate("coordinator-1", new SecureRandom());
    Path key = Files.writeString(dir.resolve("coordinator.key"), coordinatorKey.toFileContents() + "\n");
    ObjectNode coordinatorCfg = JSON.createObjectNode().put("port", coordinatorPort).put("bind", "127.0.0.1")
        .put("dashboardPort", 0).put("coordinatorKeyFile", key.toString())
        .put("catalog", "jdbc:sqlite:" + dir.resolve("catalog.db"));
    coordinatorCfg.putObject("settings").put("work-dir", dir.resolve("work").toString())
        .put("allow-private-holders", true);
    URI coordinatorUrl = URI.create("http://127.0.0.1:" + coordinatorPort);

    int port = freePort();
    Path data = dir.resolve("holder data");
    ObjectNode holderCfg = JSON.createObjectNode().put("port", port).put("bind", "127.0.0.1").put("dashboardPort", 0)
        .put("maxUploadPerMonth", "1TiB").put("coordinator", coordinatorUrl.toString())
        .put("coordinatorPublicKey", coordinatorKey.publicKey().toString());
    // The data directory as a setting, over the typed option: the wrapper must follow the config file.
    holderCfg.putObject("settings").put("data-dir", data.toString());
    Unit holderUnit = unit("holder.nix", "narvault-holder", holderCfg, true);
    assertEquals("1TiB", holderUnit.config().get("max-upload-per-month").asText());
    Path wrapper = holderUnit.systemPackages().get("narvault-holder-exit");
    String script = Files.readString(wrapper);
    assertTrue(holderUnit.execStart().startsWith(dir.resolve("pkg") + "/bin/narvault holder --config "));
    assertTrue(java.util.regex.Pattern.compile("(?m)^exec " + java.util.regex.Pattern.quote(dir.resolve("pkg")
        + "/bin/narvault holder-exit --data-dir '" + data + "' --coordinator ") + "'?"
        + java.util.regex.Pattern.quote(holderUnit.config().get("coordinator").asText()) + "'? \"\\$@\"$")
        .matcher(script).find(), "the package, data directory and coordinator of ExecStart's config file: " + script);
    assertEquals(data.toString(), holderUnit.config().get("data-dir").asText());

    Process coordinator = start(unit("coordinator.nix", "narvault-coordinator", coordinatorCfg, false), "coordinator");
    Process holder = null;
    try {
      await(coordinator, "coordinator", coordinatorUrl.resolve("/v1/policy"));
      holder = start(holderUnit, "holder");
      String status = await(holder, "holder", URI.create("http://127.0.0.1:" + port + "/v1/status"));
      assertEquals(1L << 40, JSON.readTree(status).get("uploadQuota").get("quotaBytes").asLong(),
          "the module's maxUploadPerMonth");
      String holderId = JSON.readTree(status).get("holderId").asText();
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (!await(coordinator, "coordinator", coordinatorUrl.resolve("/v1/holders")).contains(holderId)) {
        assertTrue(System.nanoTime() < deadline && holder.isAlive(),
            "the holder did not register: " + Files.readString(dir.resolve("holder.log")));
        Thread.sleep(100);
      }
      Process exit = new ProcessBuilder("sh", wrapper.toString()).redirectErrorStream(true).start();
      String said = new String(exit.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertEquals(0, exit.waitFor(), said);
      assertTrue(said.contains("exiting; fragments still to move: 0"), said);
    } finally {
      if (holder != null) {
        stop(holder);
      }
      stop(coordinator);
    }
  }

  @Test
  void coordinatorModule_takesItsKeyAsACredential_andStartsACoordinatorThatAnswers() throws Exception {
    assumeNix();
    int port = freePort();
    Path key = dir.resolve("coordinator.key");
    Files.writeString(key, NixSecretKey.generate("coordinator-1", new SecureRandom()).toFileContents() + "\n");
    ObjectNode cfg = JSON.createObjectNode().put("port", port).put("bind", "127.0.0.1").put("dashboardPort", 0)
        .put("coordinatorKeyFile", key.toString()).put("catalog", "jdbc:sqlite:" + dir.resolve("catalog.db"));
    cfg.putObject("settings").put("work-dir", dir.resolve("work").toString());
    String key1 = NixSecretKey.generate("archive-1", new SecureRandom()).publicKey().toString();
    String key2 = NixSecretKey.generate("archive-2", new SecureRandom()).publicKey().toString();
    cfg.putArray("archivePublicKeys").add(key1).add(key2);
    Unit unit = unit("coordinator.nix", "narvault-coordinator", cfg, false);
    assertEquals(JSON.createArrayNode().add(key1).add(key2), unit.config().get("archive-public-key"),
        "both archive keys while the archive key is rotated");
    assertTrue(unit.execStart().startsWith(dir.resolve("pkg") + "/bin/narvault repair --config "),
        "the package given, not pkgs.narvault: " + unit.execStart());
    assertEquals(List.of("coordinator-key:" + key), unit.credentials());
    assertEquals("${CREDENTIALS_DIRECTORY}/coordinator-key", unit.config().get("coordinator-key").get("path").asText(),
        "the key is named, never in argv or the store");
    String policy = startAndAsk(unit, URI.create("http://127.0.0.1:" + port + "/v1/policy"));
    assertTrue(JSON.readTree(policy).has("liveWithinMillis"), policy);
  }

  @Test
  void gatewayModule_takesTheCatalogAsACredential_andStartsAGatewayThatAnswers() throws Exception {
    assumeNix();
    int port = freePort();
    Path catalogUrl = Files.writeString(dir.resolve("catalog-url"), "jdbc:sqlite:" + dir.resolve("gateway.db") + "\n");
    ObjectNode cfg = JSON.createObjectNode().put("port", port).put("bucket", "cache")
        .put("s3Endpoint", "http://127.0.0.1:" + freePort()).put("catalogFile", catalogUrl.toString());
    cfg.putObject("settings").put("nar-cache-dir", dir.resolve("nar-cache").toString());
    String key1 = NixSecretKey.generate("archive-1", new SecureRandom()).publicKey().toString();
    String key2 = NixSecretKey.generate("archive-2", new SecureRandom()).publicKey().toString();
    cfg.putArray("archivePublicKeys").add(key2);
    cfg.put("archivePublicKey", key1);
    cfg.putArray("trustedProxies").add("203.0.113.0/24").add("2001:db8::/32");
    cfg.put("clientIpHeader", "Fastly-Client-IP");
    Unit unit = unit("gateway.nix", "narvault-gateway", cfg, true);
    assertEquals(List.of("catalog:" + catalogUrl), unit.credentials());
    assertEquals(JSON.createArrayNode().add(key2).add(key1), unit.config().get("archive-public-key"),
        "the list, and the deprecated single key added to it");
    assertEquals(JSON.createArrayNode().add("203.0.113.0/24").add("2001:db8::/32"), unit.config().get("trusted-proxy"));
    assertEquals("Fastly-Client-IP", unit.config().get("client-ip-header").asText());
    String info = startAndAsk(unit, URI.create("http://127.0.0.1:" + port + "/nix-cache-info"));
    assertTrue(info.contains("StoreDir: /nix/store"), info);
  }

  @Test
  void modules_refuseWhatTheyCannotWorkWith_sayingWhy() throws Exception {
    assumeNix();
    RealNix.Result holder = evaluate("holder.nix", "narvault-holder", JSON.createObjectNode(), false);
    assertNotEquals(0, holder.exitCode());
    assertTrue(holder.output().contains("coordinatorPublicKeys must be set"), holder.output());
    RealNix.Result coordinator = evaluate("coordinator.nix", "narvault-coordinator", JSON.createObjectNode(), false);
    assertTrue(coordinator.output().contains("coordinatorKeyFile must be set"), coordinator.output());
    RealNix.Result gateway = evaluate("gateway.nix", "narvault-gateway", JSON.createObjectNode().put("bucket", "c"),
        false);
    assertTrue(gateway.output().contains("catalog or catalogFile must be set"), gateway.output());
    RealNix.Result spoofable = evaluate("gateway.nix", "narvault-gateway", JSON.createObjectNode().put("bucket", "c")
        .put("catalog", "jdbc:sqlite:x.db").put("clientIpHeader", "Fastly-Client-IP"), false);
    assertTrue(spoofable.output().contains("clientIpHeader needs trustedProxies"), spoofable.output());
  }
}
