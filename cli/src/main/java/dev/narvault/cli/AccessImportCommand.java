package dev.narvault.cli;

import dev.narvault.core.access.AccessImport;
import dev.narvault.core.access.RequestLogParser;
import dev.narvault.core.catalog.Catalog;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code narvault access import}: request logs into the catalog's access records. */
@Command(name = "import", mixinStandardHelpOptions = true,
    header = "Read request logs (CDN, S3, plain lists) into the catalog's access records.",
    description = {"Reads request logs and keeps, per store path, its last request and a request count in the "
            + "catalog: what migrate --unused-for and promote read. Formats, recognised from the first lines of "
            + "each file (or given with --format): the common or combined log format (Fastly, nginx, Apache; a "
            + "syslog header before it is passed over), CloudFront standard logs (tab-separated, with a #Fields "
            + "header), S3 server access logs, and plain lists of '<store hash or store path> <epoch seconds>'. "
            + "Files may be gzip or xz compressed (told by their first bytes). Only GET and HEAD requests of "
            + "<hash>.narinfo and nar/<file> count. A NAR's key becomes the store path the catalog knows for it "
            + "(archived NARs); the key of a NAR not archived yet is kept as it is, and migrate looks it up by the "
            + "narinfo's URL.",
        "",
        "Memory is that of one batch of writes, whatever the size of the logs. Bad lines (a bad date, binary junk, "
            + "a line over 64 KiB, a time in the future) are counted, a few shown, and passed over. Each file is "
            + "imported once (by its SHA-256); --again imports it again. Exit status 1 if a file could not be read "
            + "to its end (what it gave before is kept).",
        ""})
final class AccessImportCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "FILE", description = "Request log files (plain, gzip or xz).")
  List<Path> files;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Option(names = "--format", defaultValue = "auto", converter = FormatConverter.class,
      description = "The logs' format: auto, common (Fastly's usual), cloudfront, s3 or plain (default: "
          + "${DEFAULT-VALUE}).")
  RequestLogParser.Format format;

  @Option(names = "--again", description = "Import files that were imported before (their requests count twice).")
  boolean again;

  @Option(names = "--nar-only",
      description = "Count only NAR requests, not narinfo requests (which crawlers and nix path-info make without "
          + "fetching anything).")
  boolean narOnly;

  @Option(names = "--batch", defaultValue = "50000",
      description = "Distinct store paths gathered before they are written (default: ${DEFAULT-VALUE}).")
  int batch;

  private final PrintStream out;

  AccessImportCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    for (Path f : files) {
      if (!Files.isRegularFile(f)) {
        throw new IllegalArgumentException("no such file: " + f);
      }
    }
    try (Catalog cat = Catalog.open(catalog)) {
      List<AccessImport.FileResult> results = new AccessImport(cat.access(),
          new AccessImport.Options(format, again, narOnly, batch), out, InstantSource.system()).run(files);
      long requests = results.stream().mapToLong(AccessImport.FileResult::requests).sum();
      long bad = results.stream().mapToLong(AccessImport.FileResult::bad).sum();
      long failed = results.stream().filter(r -> r.failure().isPresent()).count();
      out.printf(Locale.ROOT, "%,d files: %,d requests recorded, %,d bad lines, %d files failed%n", results.size(),
          requests, bad, failed);
      cat.access().coverage().ifPresent(c -> out.printf(Locale.ROOT,
          "imported logs now cover %s to %s (%,d files)%n", java.time.Instant.ofEpochMilli(c.firstMillis()),
          java.time.Instant.ofEpochMilli(c.lastMillis()), c.files()));
      return failed > 0 ? 1 : 0;
    }
  }

  /** Parses {@code --format}, with the bad value in the message. */
  static final class FormatConverter implements CommandLine.ITypeConverter<RequestLogParser.Format> {
    @Override
    public RequestLogParser.Format convert(String value) {
      try {
        return RequestLogParser.Format.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
