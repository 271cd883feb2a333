package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.repair.simulation.ClosedForms;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimulateCommandTest {
  @TempDir
  Path dir;

  private static String run(String... args) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(bytes, true, StandardCharsets.UTF_8)).execute(args);
    assertEquals(0, exit, bytes.toString(StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void json_hasOneResultPerCode_withTheBinomialAvailabilityWhenNothingIsRepaired() throws Exception {
    Path svg = dir.resolve("chart.svg");
    String out = run("simulate", "--code", "4+2,6+3", "--holders", "40", "--packs", "100", "--years", "0.5",
        "--departures", "0", "--network-failures", "0", "--corruption", "0", "--offline-after", "100000h",
        "--weibull-shape", "1", "--reads", "50", "--uptime", "0.7", "--json", "--svg", svg.toString());
    JsonNode results = new ObjectMapper().readTree(out);
    assertEquals(2, results.size());
    assertEquals(4, results.get(0).get("dataFragmentCount").asInt());
    assertEquals(1.5, results.get(1).get("overhead").asDouble(), 1e-9);
    assertEquals(0, results.get(0).get("losses").asLong());
    assertEquals(ClosedForms.availability(6, 4, 0.7), results.get(0).get("availability").asDouble(), 0.02);
    assertEquals(ClosedForms.availability(9, 6, 0.7), results.get(1).get("availability").asDouble(), 0.02);
    String chart = Files.readString(svg);
    assertTrue(chart.startsWith("<svg") && chart.contains("4+2 r=1") && chart.contains("6+3 r=2"), chart);
  }

  @Test
  void table_hasAHeaderAndARowPerCode_andBadCodesAreRefused() {
    String out = run("simulate", "--code", "4+2", "--holders", "30", "--packs", "20", "--years", "0.1");
    assertTrue(out.contains("loss/pack-year") && out.lines().anyMatch(l -> l.startsWith("4+2")), out);
    int exit = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8))
        .execute("simulate", "--code", "4-2", "--years", "0.1");
    assertEquals(2, exit);
  }

  @Test
  void badSharesAndCodes_areRefusedWithTheValueInTheMessage() {
    for (String[] args : new String[][] {{"--departures", "ten"}, {"--departures", "150%"}, {"--code", "a+b"}}) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      var commandLine = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      commandLine.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
      int exit = commandLine.execute("simulate", args[0], args[1], "--years", "0.01", "--holders", "20");
      assertEquals(2, exit, String.join(" ", args));
      assertTrue(err.toString(StandardCharsets.UTF_8).contains(args[1]), err.toString(StandardCharsets.UTF_8));
    }
  }

  @Test
  void help_formatsEveryDescription_withPercentSignsAndWholeSentences() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    java.io.StringWriter help = new java.io.StringWriter();
    try {
      var commandLine = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      commandLine.setOut(new java.io.PrintWriter(help, true));
      assertEquals(0, commandLine.execute("simulate", "--help"));
    } finally {
      System.setErr(saved);
    }
    String warnings = err.toString(StandardCharsets.UTF_8);
    assertTrue(!warnings.contains("Could not format"), warnings);
    assertTrue(help.toString().contains("30% servers") && help.toString().contains("(default: 10%)"), help.toString());
  }
}
