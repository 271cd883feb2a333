package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuickstartCommandTest {
  @Test
  void quickstartCheck_verifiesEveryNarThroughTheGateway(@TempDir Path dir) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int exit = Narvault.commandLine(new PrintStream(bytes, true, StandardCharsets.UTF_8)).execute(
        "quickstart", "--check", "--paths", "12", "--port", "0", "--dir", dir.toString());
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(0, exit, out);
    assertTrue(out.contains("check: 15 of 15 NARs verified"), out);
    assertTrue(out.contains("stopped 4 holders"), out);
    assertTrue(out.lines().anyMatch(l -> l.matches("repair: rebuilt [1-9]\\d* fragments in [1-9]\\d* pack repairs .*")), out);
  }

  @Test
  void quickstart_rejectsTooFewHolders(@TempDir Path dir) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    picocli.CommandLine cli = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    cli.getSubcommands().get("quickstart").setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    int exit = cli.execute("quickstart", "--holders", "5", "--dir", dir.toString());
    assertEquals(2, exit);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("k+2m = 18"), err.toString(StandardCharsets.UTF_8));
  }
}
