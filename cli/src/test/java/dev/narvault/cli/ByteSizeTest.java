package dev.narvault.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ByteSizeTest {
  @Test
  void parse_understandsBinaryAndDecimalUnits() {
    assertEquals(4096, ByteSize.parse("4096"));
    assertEquals(64L << 20, ByteSize.parse("64MiB"));
    assertEquals(10_000_000_000L, ByteSize.parse("10GB"));
    assertEquals(1536, ByteSize.parse("1.5KiB"));
    assertEquals(2L << 40, ByteSize.parse("2 TiB"));
    assertEquals(10L << 20, ByteSize.parse("10MiB/s"));
  }

  @Test
  void parse_rejectsNonsenseWithTheValue() {
    assertTrue(assertThrows(CommandLine.TypeConversionException.class, () -> ByteSize.parse("lots"))
        .getMessage().contains("lots"));
    assertTrue(assertThrows(CommandLine.TypeConversionException.class, () -> ByteSize.parse("5 parsecs"))
        .getMessage().contains("parsecs"));
  }

  @Test
  void format_isTheShortestExactSpellingThatParsesBack() {
    assertEquals("1MiB", ByteSize.format(1L << 20));
    assertEquals("64KiB", ByteSize.format(65536));
    assertEquals("1000", ByteSize.format(1000));
    assertEquals("1536", ByteSize.format(1536));
    assertEquals("0", ByteSize.format(0));
    for (long size : new long[] {1, 1023, 1024, 3L << 30, 5L << 40, 12345678}) {
      assertEquals(size, ByteSize.parse(ByteSize.format(size)));
    }
  }
}
