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
 * {@code narvault bench rebuild} on a few hundred packs: the real {@code catalog-rebuild} in a
 * child JVM restores every pack, NAR and fragment copy (the bench checks), and every figure is
 * printed, one per line with {@code --tsv}.
 */
class BenchRebuildCommandTest {
  @Test
  void tsv_rebuildsEveryPack_andPrintsEveryFigure() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
        .execute("bench", "rebuild", "--packs", "300", "--holders", "7", "--tsv");
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, text);
    Map<String, Double> figures = new LinkedHashMap<>();
    for (String line : text.strip().split("\n")) {
      String[] cells = line.split("\t", -1);
      assertEquals(3, cells.length, "name, value, unit: " + line);
      figures.put(cells[0], Double.parseDouble(cells[1]));
    }
    for (String name : new String[] {"packs", "fragment-copies", "rebuild-time", "packs-per-second", "listing-time",
        "reading-time", "ids-read", "matching-time", "restoring-time", "aliases-time", "heap-peak", "live-heap-peak",
        "full-collections"}) {
      assertTrue(figures.containsKey(name), "missing " + name + " in " + figures.keySet());
    }
    assertEquals(300, figures.get("packs"));
    assertEquals(300 * 6, figures.get("fragment-copies"), "RS(4,2): six copies a pack, all found");
    assertEquals(300 * 7, figures.get("ids-read"), "six fragments and a manifest a pack");
  }

  @Test
  void badArguments_areRefusedWithTheValue() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    var cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
    assertEquals(2, cli.execute("bench", "rebuild", "--holders", "5"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--holders 5"), err.toString(StandardCharsets.UTF_8));
  }
}
