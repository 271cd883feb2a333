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
 * {@code narvault bench catalog} on a small synthetic archive: it prints every figure, one per
 * line with {@code --tsv}, and every hot query the servers run is answered through an index.
 */
class BenchCatalogCommandTest {
  @Test
  void tsv_printsEveryFigure_andNoHotQueryReadsAWholeTable() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(out, true, StandardCharsets.UTF_8))
        .execute("bench", "catalog", "--nars", "2000", "--holders", "100", "--samples", "100", "--tsv");
    String text = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, text);
    Map<String, Double> figures = new LinkedHashMap<>();
    for (String line : text.strip().split("\n")) {
      String[] cells = line.split("\t");
      assertEquals(3, cells.length, "name, value, unit: " + line);
      figures.put(cells[0], Double.parseDouble(cells[1]));
    }
    for (String name : new String[] {"insert-rate", "packs", "narinfo-lookup-p50", "narinfo-lookup-p99",
        "nar-lookup-p50", "nar-lookup-p99", "repair-round", "repair-round-packs", "gc-round", "drain-page-1000",
        "journal-totals", "catalog-totals", "counted-bytes", "hot-queries-scanning", "bytes-per-nar"}) {
      assertTrue(figures.containsKey(name), "missing " + name + " in " + figures.keySet());
    }
    assertEquals(0, figures.get("hot-queries-scanning"), "every hot query through an index");
    assertTrue(figures.get("packs") >= 2000 / 64, "about 32 NARs of 2 MiB in a 64 MiB pack: " + figures.get("packs"));
    assertTrue(figures.get("bytes-per-nar") > 1000, "a signed manifest's share and a narinfo at least");
  }

  @Test
  void badArguments_areRefusedWithTheValue() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    var cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.setErr(new java.io.PrintWriter(err, true, StandardCharsets.UTF_8));
    assertEquals(2, cli.execute("bench", "catalog", "--holders", "79"));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("got 79"), err.toString(StandardCharsets.UTF_8));
    assertEquals(2, cli.execute("bench", "catalog", "--catalog", "jdbc:mysql://x"));
  }
}
