package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCodecCommandTest {
  @Test
  void benchCodec_printsOneRowPerCodeAndOperationWithPositiveSpeeds() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    int exit = Narvault.commandLine(out).execute("bench", "codec", "--codes", "4+2,10+4",
        "--fragment-size", "64KiB", "--rounds", "1", "--round-millis", "5");
    assertEquals(0, exit);
    List<String> rows = bytes.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("RS(")).toList();
    assertEquals(6, rows.size(), bytes.toString(StandardCharsets.UTF_8));
    for (String row : rows) {
      // The last four columns: Backblaze MB/s, vector MB/s, speed-up ("x"), copy MB/s.
      String[] cols = row.trim().split("\\s+");
      int n = cols.length;
      double backblaze = Double.parseDouble(cols[n - 4]);
      double vector = Double.parseDouble(cols[n - 3]);
      double speedUp = Double.parseDouble(cols[n - 2].replace("x", ""));
      double copy = Double.parseDouble(cols[n - 1]);
      assertTrue(backblaze > 0 && vector > 0 && copy > 0, row);
      // Speeds are printed rounded to whole MB/s, so the ratio of the printed speeds is only known
      // within the rounding of each; the printed speed-up (one decimal) must lie in that interval.
      double low = (vector - 0.5) / (backblaze + 0.5) - 0.051;
      double high = (vector + 0.5) / Math.max(0.01, backblaze - 0.5) + 0.051;
      assertTrue(speedUp >= low && speedUp <= high, "speed-up is vector / Backblaze: " + row);
    }
    assertTrue(rows.get(0).startsWith("RS(4,2)") && rows.get(3).startsWith("RS(10,4)"));
  }

  @Test
  void benchCodec_tsvCoversEveryCellOnceInTheShuffledOrderWithOrderedSpeeds() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    int exit = Narvault.commandLine(out).execute("bench", "codec", "--codes", "4+2,10+4", "--fragment-size", "4KiB,64KiB",
        "--operations", "encode,decode-m", "--vector-only", "--tsv", "--shuffle", "3", "--rounds", "3", "--round-millis", "2");
    assertEquals(0, exit);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(text.lines().findFirst().orElseThrow().matches("# kernel\t(128|256|512)-bit vectors.*ms to compile.*"), text);
    List<String> rows = text.lines().filter(l -> !l.startsWith("#")).toList();
    List<String> cells = rows.stream().map(r -> String.join(" ", List.of(r.split("\t")).subList(0, 5))).toList();
    assertEquals(java.util.Set.of("vector 4 2 4096 encode", "vector 4 2 4096 decode-m", "vector 4 2 65536 encode",
        "vector 4 2 65536 decode-m", "vector 10 4 4096 encode", "vector 10 4 4096 decode-m", "vector 10 4 65536 encode",
        "vector 10 4 65536 decode-m"), java.util.Set.copyOf(cells));
    assertEquals(8, cells.size(), text);
    List<String> given = List.of("vector 4 2 4096 encode", "vector 4 2 4096 decode-m", "vector 4 2 65536 encode",
        "vector 4 2 65536 decode-m", "vector 10 4 4096 encode", "vector 10 4 4096 decode-m", "vector 10 4 65536 encode",
        "vector 10 4 65536 decode-m");
    List<String> shuffled = new java.util.ArrayList<>(given);
    java.util.Collections.shuffle(shuffled, new java.util.Random(3));
    assertEquals(shuffled, cells, "cells in the order shuffled with the seed");
    for (String row : rows) {
      String[] cols = row.split("\t");
      double median = Double.parseDouble(cols[5]);
      double min = Double.parseDouble(cols[6]);
      double max = Double.parseDouble(cols[7]);
      assertTrue(min > 0 && min <= median && median <= max, row);
    }
  }

  @Test
  void benchCodec_rejectsUnknownOperationByName() {
    StringWriter err = new StringWriter();
    CommandLine cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.getSubcommands().get("bench").getSubcommands().get("codec").setErr(new PrintWriter(err, true));
    int exit = cli.execute("bench", "codec", "--operations", "encode,rebuild");
    assertEquals(2, exit);
    assertTrue(err.toString().contains("rebuild") && err.toString().contains("decode-m"), err.toString());
  }

  @Test
  void benchCodec_rejectsBadCodeWithClearMessage() {
    StringWriter err = new StringWriter();
    CommandLine cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.getSubcommands().get("bench").getSubcommands().get("codec").setErr(new PrintWriter(err, true));
    int exit = cli.execute("bench", "codec", "--codes", "ten");
    assertEquals(2, exit);
    assertTrue(err.toString().contains("k+m") && err.toString().contains("ten"), err.toString());
  }
}
