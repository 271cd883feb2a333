package dev.narvault.core.access;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.CatalogException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code narvault access import}: request logs into the catalog's {@link AccessRecords}, a file
 * at a time, streamed. Lines are parsed ({@link RequestLogParser}) into a {@link
 * AccessRecords.Batch} that is written whenever it holds {@link Options#batchSize()} distinct
 * subjects, so memory stays that of one batch however many lines and subjects there are. A bad
 * line is counted, a few shown, and passed over; a file that cannot be read to its end (a
 * truncated gzip) stops there, keeps what it gave, and is reported as failed.
 *
 * <p>Each file is imported once: its SHA-256 is noted in the catalog, and a file already noted is
 * passed over unless {@link Options#again()} (last times are the same either way, but counts
 * would be counted twice). A file stopped by a crash or a failure is not noted: importing it
 * again counts what the first attempt wrote twice.
 */
public final class AccessImport {
  /** Lines longer than this are bad lines (and cost no more memory). */
  static final int MAX_LINE = 64 * 1024;
  /** Bad lines shown per file. */
  static final int SAMPLES = 5;
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);

  /**
   * @param format the logs' format, or {@link RequestLogParser.Format#AUTO}
   * @param again import files already imported (their requests are counted again)
   * @param narOnly count only NAR requests, not narinfo requests (which crawlers and {@code nix
   *     path-info} make without fetching anything)
   * @param batchSize distinct subjects (per day) gathered before they are written
   */
  public record Options(RequestLogParser.Format format, boolean again, boolean narOnly, int batchSize) {
    public static final Options DEFAULTS = new Options(RequestLogParser.Format.AUTO, false, false, 50_000);

    public Options {
      if (batchSize < 1) {
        throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
      }
    }
  }

  /** What importing one file came to. */
  public record FileResult(Path file, String format, long lines, long requests, long ignored, long bad,
      List<String> badSample, long narKeysNamed, long narKeysUnknown, boolean alreadyImported,
      Optional<String> failure) {
    @Override
    public String toString() {
      if (alreadyImported) {
        return file + ": already imported, passed over (--again imports it again, counting its requests twice)";
      }
      StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
          "%s (%s): %,d lines, %,d requests recorded, %,d not counted (other paths, methods, headers), %,d bad; "
              + "NAR objects (distinct per batch written): %,d archived (recorded by store hash), %,d not "
              + "archived (recorded by key)",
          file, format, lines, requests, ignored, bad, narKeysNamed, narKeysUnknown));
      for (String sample : badSample) {
        s.append("\n  bad ").append(sample);
      }
      failure.ifPresent(f -> s.append("\n  FAILED: ").append(f).append(" (what was read before is recorded)"));
      return s.toString();
    }
  }

  private final AccessRecords records;
  private final Options options;
  private final PrintStream out;
  private final InstantSource clock;

  public AccessImport(AccessRecords records, Options options, PrintStream out, InstantSource clock) {
    this.records = records;
    this.options = options;
    this.out = out;
    this.clock = clock;
  }

  /** Imports each file in turn; every file is tried, whatever happened to the ones before. */
  public List<FileResult> run(List<Path> files) throws CatalogException {
    List<FileResult> results = new ArrayList<>();
    for (Path f : files) {
      FileResult r = importFile(f);
      out.println(r);
      results.add(r);
    }
    records.pruneDays(clock.millis());
    return results;
  }

  /** Imports one file. */
  public FileResult importFile(Path file) throws CatalogException {
    String digest;
    try {
      digest = digest(file);
    } catch (IOException e) {
      return failed(file, "cannot read: " + e.getMessage());
    }
    if (!options.again() && records.imported(digest).isPresent()) {
      return new FileResult(file, "", 0, 0, 0, 0, List.of(), 0, 0, true, Optional.empty());
    }
    RequestLogParser parser = new RequestLogParser(options.format(), clock.millis());
    Tally tally = new Tally();
    AccessRecords.Batch batch = new AccessRecords.Batch();
    Optional<String> failure = Optional.empty();
    Instant nextProgress = clock.instant().plus(PROGRESS_EVERY);
    try (InputStream in = Decompressing.open(Files.newInputStream(file))) {
      BoundedLines lines = new BoundedLines(in, MAX_LINE);
      String line;
      while ((line = lines.next()) != null) {
        tally.lines++;
        if (lines.tooLong()) {
          tally.bad(line, "longer than " + MAX_LINE + " bytes");
        } else {
          take(parser, line, batch, tally);
        }
        if (batch.size() >= options.batchSize()) {
          write(batch, tally);
          batch = new AccessRecords.Batch();
        }
        if ((tally.lines & 0xfff) == 0 && !clock.instant().isBefore(nextProgress)) {
          nextProgress = clock.instant().plus(PROGRESS_EVERY);
          out.printf(Locale.ROOT, "  %s: %,d lines, %,d requests, %,d bad%n", file.getFileName(), tally.lines,
              tally.requests, tally.bad);
        }
      }
    } catch (IOException e) {
      failure = Optional.of("stopped at line " + (tally.lines + 1) + ": " + e);
    }
    write(batch, tally);
    if (failure.isEmpty()) {
      records.recordImport(new AccessRecords.ImportedFile(digest, file.getFileName().toString(), tally.requests,
          tally.requests == 0 ? 0 : tally.first, tally.requests == 0 ? 0 : tally.last, clock.millis()));
    }
    String format = parser.format() == RequestLogParser.Format.AUTO ? "format not recognised" : parser.format().toString();
    return new FileResult(file, format, tally.lines, tally.requests, tally.ignored, tally.bad,
        List.copyOf(tally.samples), tally.named, tally.unknown, false, failure);
  }

  private void take(RequestLogParser parser, String line, AccessRecords.Batch batch, Tally tally) {
    RequestLogParser.Line parsed;
    try {
      parsed = parser.parse(line);
    } catch (IllegalArgumentException e) {
      tally.bad(line, e.getMessage());
      return;
    }
    switch (parsed) {
      case RequestLogParser.Line.Ignored i -> tally.ignored++;
      case RequestLogParser.Line.Request r -> {
        if (options.narOnly() && !r.subject().startsWith("nar/")) {
          tally.ignored++;
          return;
        }
        batch.add(r.subject(), r.millis());
        tally.requests++;
        tally.first = Math.min(tally.first, r.millis());
        tally.last = Math.max(tally.last, r.millis());
      }
    }
  }

  private void write(AccessRecords.Batch batch, Tally tally) throws CatalogException {
    AccessRecords.Written w = records.record(batch);
    tally.named += w.narKeysNamed();
    tally.unknown += w.narKeysUnknown();
  }

  private static FileResult failed(Path file, String why) {
    return new FileResult(file, "", 0, 0, 0, 0, List.of(), 0, 0, false, Optional.of(why));
  }

  /** SHA-256 of the file as stored, hex. */
  static String digest(Path file) throws IOException {
    MessageDigest sha256;
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha256)) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    return HexFormat.of().formatHex(sha256.digest());
  }

  /** Counts of one file. */
  private static final class Tally {
    long lines;
    long requests;
    long ignored;
    long bad;
    long named;
    long unknown;
    long first = Long.MAX_VALUE;
    long last = Long.MIN_VALUE;
    final List<String> samples = new ArrayList<>();

    void bad(String line, String why) {
      bad++;
      if (samples.size() < SAMPLES) {
        samples.add("line " + lines + ": " + why + ": " + shown(line));
      }
    }
  }

  /** A line as shown in a sample: at most 120 characters, control and non-ASCII bytes escaped. */
  static String shown(String line) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < line.length() && s.length() < 120; i++) {
      char c = line.charAt(i);
      if (c >= 0x20 && c < 0x7f) {
        s.append(c);
      } else {
        s.append(String.format(Locale.ROOT, "\\x%02x", (int) c & 0xff));
      }
    }
    if (s.length() >= 120) {
      s.append("…");
    }
    return "'" + s + "'";
  }
}
