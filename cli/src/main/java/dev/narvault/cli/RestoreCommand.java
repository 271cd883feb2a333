package dev.narvault.cli;

import dev.narvault.core.archive.Archive;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.Restoration;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault restore}: archived NARs back into a bucket as the exact objects they were. */
@Command(name = "restore", mixinStandardHelpOptions = true,
    header = "Put archived NARs back into a bucket as the exact objects they were.",
    description = {"Reads each selected NAR through the holders (every block checked against its pack's signed "
            + "manifest), checks it against its narinfo (FileHash and FileSize of the stored bytes, NarHash and "
            + "NarSize decompressed per its Compression), and puts it into --to-bucket under the key it had "
            + "(nar/<FileHash>.nar.xz and so on), byte for byte. The catalog then records it as restored in that "
            + "bucket: a gateway whose --bucket that is serves it from S3 again, and migrate --drain leaves it "
            + "there (migrate --unused-for may drain it again once nobody has requested it for the whole window "
            + "since). Nothing is deleted, from the holders or anywhere else.",
        "",
        "An object the bucket already has under its key with its size (a HEAD request, e.g. a NAR never drained "
            + "from the original bucket) is recorded and not uploaded again; one of another size is left alone and "
            + "reported. A NAR that cannot be read (fewer than k fragments answer, or what they give does not "
            + "verify) is reported and the run goes on. Killed or failed, run it again: what the catalog records "
            + "as restored in that bucket is skipped, the rest is tried again.",
        "",
        "A progress line goes to standard error every 5 seconds, a summary to standard output at the end. Exit "
            + "status 3 if some NAR could not be restored (each is named), 2 if --paths names a store path the "
            + "archive does not have (then nothing is restored).",
        ""})
final class RestoreCommand implements Callable<Integer> {
  @Option(names = "--catalog", required = true, paramLabel = "URL",
      description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Mixin
  S3TargetOptions s3;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Which which;

  /** Exactly one of: a list, or everything. */
  static final class Which {
    @Option(names = "--paths", paramLabel = "FILE",
        description = "Restore the NARs of these store paths, one per line (/nix/store/<hash>-name, <hash>-name or "
            + "<hash>; blank lines and # comments skipped; gzip or xz compressed allowed, e.g. a release's "
            + "store-paths.xz).")
    Path paths;

    @Option(names = "--all", description = "Restore every NAR the catalog has archived.")
    boolean all;
  }

  @Option(names = "--storage-class", paramLabel = "CLASS",
      description = "Put the uploaded objects in this S3 storage class, e.g. STANDARD_IA (default: the bucket's). "
          + "Objects found in the bucket already keep theirs.")
  String storageClass;

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "Check each pack manifest's signature with these keys; repeatable (the old and the new key "
          + "while the archive key is rotated). Without any, manifests are taken from the catalog unchecked.")
  List<String> archivePublicKeys;

  @Option(names = "--holder-timeout", defaultValue = "30s", converter = DurationConverter.class,
      paramLabel = "DURATION",
      description = "How long a holder may take to start answering (default: ${DEFAULT-VALUE}).")
  Duration holderTimeout;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-restore", paramLabel = "DIR",
      description = "Where each NAR waits while it is checked and uploaded, and a --paths list is sorted "
          + "(default: ${DEFAULT-VALUE}).")
  Path workDir;

  private final PrintStream out;

  RestoreCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Restoration.Config config = new Restoration.Config(Optional.ofNullable(which.paths), s3.bucket,
        Optional.ofNullable(storageClass), workDir);
    Optional<TrustedKeys> keys = Optional.ofNullable(archivePublicKeys).map(TrustedKeys::parse);
    try (Catalog cat = Catalog.open(catalog);
        S3ObjectSource objects = new S3ObjectSource(s3.toConfig())) {
      Restoration.Result result = new Restoration(config, cat, new Archive(cat, new HolderClient(holderTimeout), keys),
          objects, out, System.err, Clock.systemUTC()).run();
      out.println(result);
      if (result.failed() > 0) {
        out.println("not restored" + (result.failed() > result.failures().size()
            ? " (the first " + result.failures().size() + ")" : "") + ":");
        result.failures().forEach(f -> out.println("  " + f));
        return 3;
      }
      return 0;
    }
  }
}
