package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code narvault bench coordinator} against a real coordinator process with a small swarm: every
 * holder registers through the real protocol (its endpoint proven), heartbeats are all answered,
 * the coordinator's audits read bytes that match the manifests (none fails), placements are
 * granted, and a vanished holder is noticed once its proof times out.
 */
class BenchCoordinatorCommandTest {
  @Test
  void tsv_printsEveryFigure_fromARealCoordinator() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
        .execute("bench", "coordinator", "--holders", "100", "--seconds", "6", "--placements", "5", "--dead", "1",
            "--tsv");
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, text);
    Map<String, Double> figures = new LinkedHashMap<>();
    for (String line : text.strip().split("\n")) {
      String[] cells = line.split("\t");
      assertEquals(3, cells.length, "name, value, unit: " + line);
      figures.put(cells[0], Double.parseDouble(cells[1]));
    }
    for (String name : new String[] {"registrations-per-s", "registration-p50", "registration-p99", "audits-per-s",
        "cpu-per-audit", "audit-round", "audits-per-holder-day", "heartbeats-offered-per-s", "heartbeats-failed",
        "heartbeat-p50", "heartbeat-p99", "coordinator-cpu-steady", "audits-per-s-steady", "heartbeat-capacity",
        "cpu-per-heartbeat", "cpu-per-1000-holders", "placement-p50", "placement-p99", "placements-failed", "audits-failed",
        "vanished-noticed", "coordinator-peak-rss"}) {
      assertTrue(figures.containsKey(name), "missing " + name + " in " + figures.keySet());
    }
    assertEquals(0, figures.get("heartbeats-failed"), text);
    assertEquals(0, figures.get("placements-failed"), text);
    assertEquals(0, figures.get("audits-failed"), "the swarm serves the bytes its manifests name: " + text);
    assertTrue(figures.get("audits-per-s") > 1, text);
    assertTrue(figures.get("heartbeat-capacity") > 10, text);
    // A vanished holder hangs the proof until its 10-s timeout: never noticed sooner.
    assertTrue(figures.get("vanished-noticed") >= 9.5 && figures.get("vanished-noticed") < 120, text);
    assertTrue(figures.get("coordinator-peak-rss") > 32, text);
  }

  @Test
  void badArguments_areRefusedWithTheValue() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    var cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
    assertEquals(2, cli.execute("bench", "coordinator", "--holders", "79"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("got 79"), err.toString(StandardCharsets.UTF_8));
    assertEquals(2, cli.execute("bench", "coordinator", "--coordinator-heap", "lots"));
    assertEquals(2, cli.execute("bench", "coordinator", "--catalog", "jdbc:mysql://x"));
  }
}
