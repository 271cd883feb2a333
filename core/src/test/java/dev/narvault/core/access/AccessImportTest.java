package dev.narvault.core.access;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.Catalog;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Logs into the catalog: every format, compressed or not, bad lines passed over, each file once. */
class AccessImportTest {
  static final String HASH = RequestLogParserTest.HASH;
  static final String NAR = RequestLogParserTest.NAR;
  static final InstantSource NOW = InstantSource.fixed(Instant.ofEpochMilli(RequestLogParserTest.NOW));

  @TempDir
  Path dir;

  private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

  private AccessImport importer(Catalog c, AccessImport.Options options) {
    return new AccessImport(c.access(), options, new PrintStream(printed, true, StandardCharsets.UTF_8), NOW);
  }

  static Path gzip(Path file, String text) throws Exception {
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return file;
  }

  @Test
  void importFile_gzipAndXzAndPlain_recordTheLastRequestPerSubject() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      long may1 = RequestLogParserTest.MAY_1_10H;
      Path cloudFront = gzip(dir.resolve("E2ABC.2024-05-01-10.abcd.gz"), "#Version: 1.0\n"
          + "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status\n"
          + "2024-05-01\t10:00:00\tFRA\t1\t1.1.1.1\tGET\th\t/" + NAR + "\t200\n"
          + "2024-05-01\t09:00:00\tFRA\t1\t1.1.1.1\tGET\th\t/" + HASH + ".narinfo\t200\n");
      Path plain = dir.resolve("list.txt");
      try (OutputStream out = new XZOutputStream(Files.newOutputStream(plain), new LZMA2Options())) {
        out.write((HASH + " " + (may1 / 1000 + 60) + "\n").getBytes(StandardCharsets.UTF_8));
      }
      List<AccessImport.FileResult> results = importer(c, AccessImport.Options.DEFAULTS).run(List.of(cloudFront, plain));
      assertEquals("CloudFront standard log", results.get(0).format());
      assertEquals(2, results.get(0).requests());
      assertEquals(1, results.get(1).requests());
      assertEquals(Optional.of(new AccessRecords.Record(HASH, may1 + 60_000, 2)), c.access().get(HASH));
      assertEquals(Optional.of(new AccessRecords.Record(NAR, may1, 1)), c.access().get(NAR));
      assertEquals(Optional.of(new AccessRecords.Coverage(2, may1 - 3_600_000, may1 + 60_000)), c.access().coverage());
    }
  }

  @Test
  void badLines_areCountedAndShown_neverFatal() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      StringBuilder log = new StringBuilder();
      String good = "1.2.3.4 - - [01/May/2024:10:00:00 +0000] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 1\n";
      log.append(good);
      log.append("1.2.3.4 - - [31/Apr/2024:10:00:00 +0000] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 1\n");
      log.append("z".repeat(AccessImport.MAX_LINE * 3)).append('\n');
      log.append("\u0000\u0001\u00ff binary\n");
      log.append("1.2.3.4 - - [01/May/2099:10:00:00 +0000] \"GET /" + HASH + ".narinfo HTTP/1.1\" 200 1\n");
      log.append(good);
      Path file = Files.write(dir.resolve("fastly.log"), log.toString().getBytes(StandardCharsets.ISO_8859_1));
      AccessImport.FileResult r = importer(c, AccessImport.Options.DEFAULTS).importFile(file);
      assertEquals(6, r.lines());
      assertEquals(2, r.requests());
      assertEquals(4, r.bad());
      assertEquals(4, r.badSample().size());
      assertTrue(r.badSample().get(1).contains("longer than"), r.badSample().toString());
      assertTrue(r.badSample().get(1).length() < 300, "a sample is short");
      assertTrue(r.badSample().get(2).contains("\\x00"), r.badSample().toString());
      assertEquals(Optional.empty(), r.failure());
      assertEquals(2, c.access().get(HASH).orElseThrow().requests());
    }
  }

  @Test
  void aFile_isImportedOnce_unlessAgain() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      Path file = Files.writeString(dir.resolve("l"), HASH + " " + RequestLogParserTest.MAY_1_10H / 1000 + "\n");
      importer(c, AccessImport.Options.DEFAULTS).importFile(file);
      AccessImport.FileResult second = importer(c, AccessImport.Options.DEFAULTS).importFile(file);
      assertTrue(second.alreadyImported());
      assertEquals(1, c.access().get(HASH).orElseThrow().requests());
      importer(c, new AccessImport.Options(RequestLogParser.Format.AUTO, true, false, 10)).importFile(file);
      assertEquals(2, c.access().get(HASH).orElseThrow().requests(), "--again counts it again");
    }
  }

  @Test
  void aTruncatedGzip_keepsWhatItGave_andIsNotNotedAsImported() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      StringBuilder lines = new StringBuilder();
      java.util.Random random = new java.util.Random(3);
      for (int i = 0; i < 20_000; i++) {
        lines.append(HASH).append(' ').append(RequestLogParserTest.MAY_1_10H / 1000 + random.nextInt(1000))
            .append("    ").append(Long.toHexString(random.nextLong())).append('\n');
      }
      // Not plain lines (a third field): bad ones, but the point is the truncation.
      Path whole = gzip(dir.resolve("whole.gz"), HASH + " " + RequestLogParserTest.MAY_1_10H / 1000 + "\n" + lines);
      byte[] bytes = Files.readAllBytes(whole);
      Path cut = Files.write(dir.resolve("cut.gz"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
      AccessImport.FileResult r = importer(c, AccessImport.Options.DEFAULTS).importFile(cut);
      assertTrue(r.failure().isPresent(), r.toString());
      assertEquals(1, r.requests());
      assertEquals(1, c.access().get(HASH).orElseThrow().requests(), "what was read before is recorded");
      assertEquals(Optional.empty(), c.access().imported(AccessImport.digest(cut)));
    }
  }

  @Test
  void narOnly_passesOverNarinfoRequests() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      long s = RequestLogParserTest.MAY_1_10H / 1000;
      Path file = Files.writeString(dir.resolve("l"), HASH + " " + s + "\n" + NAR + " " + s + "\n");
      AccessImport.FileResult r = importer(c, new AccessImport.Options(RequestLogParser.Format.PLAIN, false, true, 10))
          .importFile(file);
      assertEquals(1, r.requests());
      assertEquals(1, r.ignored());
      assertFalse(c.access().get(HASH).isPresent());
      assertTrue(c.access().get(NAR).isPresent());
    }
  }

  @Test
  void manySubjects_areWrittenInBatches() throws Exception {
    try (Catalog c = Catalog.open("jdbc:sqlite:" + dir.resolve("c.db"))) {
      StringBuilder log = new StringBuilder();
      java.util.Random random = new java.util.Random(5);
      String alphabet = "0123456789abcdfghijklmnpqrsvwxyz";
      List<String> hashes = new java.util.ArrayList<>();
      for (int i = 0; i < 2_500; i++) {
        StringBuilder h = new StringBuilder();
        for (int j = 0; j < 32; j++) {
          h.append(alphabet.charAt(random.nextInt(32)));
        }
        hashes.add(h.toString());
        log.append(h).append(' ').append(RequestLogParserTest.MAY_1_10H / 1000 + i).append('\n');
      }
      Path file = Files.writeString(dir.resolve("l"), log);
      AccessImport.FileResult r = importer(c, new AccessImport.Options(RequestLogParser.Format.AUTO, false, false, 100))
          .importFile(file);
      assertEquals(2_500, r.requests());
      for (int i = 0; i < hashes.size(); i += 97) {
        assertEquals(RequestLogParserTest.MAY_1_10H + i * 1000L, c.access().get(hashes.get(i)).orElseThrow().lastMillis());
      }
    }
  }
}
