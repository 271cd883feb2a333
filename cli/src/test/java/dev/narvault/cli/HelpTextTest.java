package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Every command's --help reads well: descriptions are paragraphs picocli wraps (no sentence broken
 * by a line break written into the source and then wrapped again), and every text formats (a
 * literal % written as %%).
 */
class HelpTextTest {
  private static List<CommandLine> all(CommandLine c) {
    List<CommandLine> list = new ArrayList<>(List.of(c));
    c.getSubcommands().values().forEach(sub -> list.addAll(all(sub)));
    return list;
  }

  @Test
  void everyDescription_isWholeParagraphs_andFormats() {
    CommandLine root = Narvault.commandLine(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    List<String> problems = new ArrayList<>();
    PrintStream savedErr = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      for (CommandLine c : all(root)) {
        String name = c.getCommandSpec().qualifiedName();
        for (String line : c.getCommandSpec().usageMessage().description()) {
          boolean listItem = line.startsWith("  ");
          if (!line.isEmpty() && !listItem && !line.replace("%n", "").strip().matches("(?s).*[.:)]$")) {
            problems.add(name + ": description breaks off mid-sentence: \"" + line + "\"");
          }
        }
        for (CommandLine.Model.OptionSpec o : c.getCommandSpec().options()) {
          String[] lines = o.description();
          for (int i = 0; i < lines.length - 1; i++) {
            if (!lines[i].strip().matches("(?s).*[.:)]$")) {
              problems.add(name + " " + o.longestName() + ": description breaks off: \"" + lines[i] + "\"");
            }
          }
        }
        StringWriter help = new StringWriter();
        c.usage(new PrintWriter(help));
      }
    } finally {
      System.setErr(savedErr);
    }
    String warnings = err.toString(StandardCharsets.UTF_8);
    assertTrue(!warnings.contains("Could not format"), warnings);
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }
}
