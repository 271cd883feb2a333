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
      String[] cols = row.trim().split("\\s{2,}|\\s+(?=[0-9])");
      double speedUp = Double.parseDouble(row.replaceAll(".*\\s([0-9.]+)x\\s.*", "$1"));
      assertTrue(speedUp > 0, row);
      assertTrue(cols.length >= 4, row);
    }
    assertTrue(rows.get(0).startsWith("RS(4,2)") && rows.get(3).startsWith("RS(10,4)"));
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
