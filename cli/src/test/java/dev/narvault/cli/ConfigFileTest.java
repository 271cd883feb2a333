package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --config FILE: options from JSON, the command line winning, secrets from the environment or a file. */
class ConfigFileTest {
  @TempDir
  Path dir;

  @Test
  void expand_addsTheFilesOptions_theCommandLineWins_andSecretsComeFromFilesOrTheEnvironment() throws Exception {
    Path credentials = Files.createDirectories(dir.resolve("credentials"));
    Files.writeString(credentials.resolve("catalog"), "jdbc:postgresql://db/narvault?password=s3cret\n");
    Path config = Files.writeString(dir.resolve("repair.json"), """
        {"port": 7000, "bind": "0.0.0.0", "worker-public-key": ["w1:AAAA", "w2:BBBB"],
         "allow-private-holders": true, "max-per-network": 2, "dashboard-port": 0,
         "catalog": {"file": "${CREDENTIALS_DIRECTORY}/catalog"}, "coordinator-key": {"env": "KEY_FILE"},
         "archive-key": {"path": "${CREDENTIALS_DIRECTORY}/archive.key"}}
        """);
    Map<String, String> env = Map.of("CREDENTIALS_DIRECTORY", credentials.toString(), "KEY_FILE", "/run/key");
    List<String> args = List.of(ConfigFile.expand(new String[] {"repair", "--config", config.toString(), "--port",
        "9000"}, env::get));
    assertEquals(1, Collections.frequency(args, "--port"), "the command line's --port only: " + args);
    assertTrue(args.containsAll(List.of("--port", "9000")));
    assertEquals("0.0.0.0", after(args, "--bind"));
    assertEquals(2, Collections.frequency(args, "--worker-public-key"));
    assertTrue(args.contains("w1:AAAA") && args.contains("w2:BBBB"));
    assertTrue(args.contains("--allow-private-holders"));
    assertEquals("jdbc:postgresql://db/narvault?password=s3cret", after(args, "--catalog"), "from the file, trimmed");
    assertEquals("/run/key", after(args, "--coordinator-key"), "from the environment");
    assertEquals(credentials + "/archive.key", after(args, "--archive-key"), "a path, the variable expanded");
  }

  private static String after(List<String> args, String option) {
    return args.get(args.indexOf(option) + 1);
  }

  @Test
  void aCommandRunsFromItsConfigFile() throws Exception {
    Path config = Files.writeString(dir.resolve("simulate.json"),
        "{\"code\": \"4+2\", \"holders\": 30, \"packs\": 20, \"years\": 0.1, \"json\": false}");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
        .execute(ConfigFile.expand(new String[] {"simulate", "--config", config.toString()}));
    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, printed);
    assertTrue(printed.contains("30 holders") && printed.lines().anyMatch(l -> l.startsWith("4+2")), printed);
  }

  @Test
  void badFiles_areRefusedWithTheFileAndTheName() throws Exception {
    Path unknown = Files.writeString(dir.resolve("unknown.json"), "{\"holderz\": 3}");
    StringWriter err = new StringWriter();
    var cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.setErr(new PrintWriter(err, true));
    assertEquals(2, cli.execute(ConfigFile.expand(new String[] {"simulate", "--config", unknown.toString()})));
    assertTrue(err.toString().contains("--holderz"), err.toString());

    Path notJson = Files.writeString(dir.resolve("bad.json"), "port: 7000");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ConfigFile.expand(new String[] {"holder", "--config", notJson.toString()}, name -> null));
    assertTrue(e.getMessage().contains("bad.json"), e.getMessage());

    Path missingEnv = Files.writeString(dir.resolve("env.json"), "{\"catalog\": {\"env\": \"NARVAULT_CATALOG\"}}");
    e = assertThrows(IllegalArgumentException.class,
        () -> ConfigFile.expand(new String[] {"gateway", "--config", missingEnv.toString()}, name -> null));
    assertTrue(e.getMessage().contains("NARVAULT_CATALOG") && e.getMessage().contains("not set"), e.getMessage());

    Path nested = Files.writeString(dir.resolve("nested.json"), "{\"port\": {\"value\": 1}}");
    e = assertThrows(IllegalArgumentException.class,
        () -> ConfigFile.expand(new String[] {"holder", "--config", nested.toString()}, name -> null));
    assertTrue(e.getMessage().contains("\"port\""), e.getMessage());
  }
}
