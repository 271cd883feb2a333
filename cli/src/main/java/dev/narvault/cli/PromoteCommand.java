package dev.narvault.cli;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.Promotion;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault promote}: drained NARs that became hot, back into S3. */
@Command(name = "promote", mixinStandardHelpOptions = true,
    header = "Put drained NARs that became hot back into S3.",
    description = {"Finds the drained NARs requested at least --min-requests times within --requested-within (by "
            + "the catalog's access records: narvault access import and the gateway's own, counted per UTC day), "
            + "reads each back through the holders, checks it against its narinfo (FileHash and FileSize, then "
            + "NarHash and NarSize decompressed), puts it into --to-bucket under its own key and journals it as "
            + "restored: the gateway then proxies it from S3, and migrate --drain leaves it there until "
            + "migrate --unused-for finds it unused again. Nothing is deleted. Killed, it is finished by the next "
            + "run. Exit status 3 if some NAR could not be promoted.",
        ""})
final class PromoteCommand implements Callable<Integer> {
  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Mixin
  S3TargetOptions s3;

  @Option(names = "--requested-within", defaultValue = "7d", converter = DurationConverter.class,
      paramLabel = "DURATION",
      description = "Count requests within this long, in whole UTC days, at most 31d (default: ${DEFAULT-VALUE}).")
  Duration requestedWithin;

  @Option(names = "--min-requests", defaultValue = "10", paramLabel = "N",
      description = "Promote NARs requested at least this many times within the window (default: ${DEFAULT-VALUE}).")
  long minRequests;

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "Check each pack manifest's signature with these keys; repeatable (the old and the new key "
          + "while the archive key is rotated).")
  List<String> archivePublicKeys;

  @Option(names = "--limit", defaultValue = "0", description = "Promote at most this many NARs (0 = all).")
  int limit;

  @Option(names = "--dry-run", description = "Only list what would be promoted.")
  boolean dryRun;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-promote",
      description = "Where each NAR waits while it is checked and uploaded (default: ${DEFAULT-VALUE}).")
  Path workDir;

  private final PrintStream out;

  PromoteCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Promotion.Config config = new Promotion.Config(requestedWithin, minRequests, dryRun, limit, workDir);
    Optional<TrustedKeys> keys = Optional.ofNullable(archivePublicKeys).map(TrustedKeys::parse);
    try (Catalog cat = Catalog.open(catalog);
        S3ObjectSource objects = new S3ObjectSource(s3.toConfig())) {
      Promotion.Result result = new Promotion(config, cat, new Archive(cat, new HolderClient(Duration.ofSeconds(30)),
          keys), objects, s3.bucket, out, Clock.systemUTC()).run();
      out.println(dryRun ? "dry run: " + result : result.toString());
      return result.failed() > 0 ? 3 : 0;
    }
  }
}
