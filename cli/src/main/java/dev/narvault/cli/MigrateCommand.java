package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.ColdSelection;
import dev.narvault.encoder.DrainConfig;
import dev.narvault.encoder.MigrateConfig;
import dev.narvault.encoder.Migration;
import dev.narvault.encoder.MigrationSummary;
import dev.narvault.encoder.input.Shard;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault migrate}: archive the cache's NARs onto holders. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    header = "Archive a binary cache's cold NARs onto holders, and with --drain take them out of S3.",
    description = {"Archives a binary cache's NARs: lists every <hash>.narinfo in the bucket (or reads them from "
            + "--keys-from files), checks its signature, "
            + "verifies the NAR object's FileHash/FileSize and, decompressed (xz, zstd, bzip2, none), its "
            + "signed NarHash/NarSize, packs NARs, Reed-Solomon encodes each pack into k + m fragments, asks "
            + "the coordinator where they go (it picks holders under its placement rules and signs the orders), "
            + "uploads and confirms them and records everything in the catalog. Select by use with --unused-for "
            + "(not requested lately, by the request logs narvault access import read and the gateway's records) "
            + "and --hot-roots (never the closures of current releases), by upload time with --older-than (S3 "
            + "LastModified of the NAR object), and by lists with --paths, --exclude. Without --drain nothing is deleted from S3 "
            + "(a dry run: the summary says what a drain would remove). With --drain, each archived NAR is read "
            + "back through the holders (its manifest verified with the --archive-public-key keys the gateway "
            + "trusts), decompressed and checked against its signed NarHash before its object "
            + "is deleted (or, with --drain-to-bucket, moved); narinfos stay. Every step is journalled in the "
            + "catalog: a killed run is finished by the next. Running it again archives only what is new. Exit "
            + "status 3 if any NAR was rejected.",
        "",
        "A run that lists the bucket saves in the catalog how far its listing is fully handled (every NAR up to "
            + "that key archived and committed, or passed over): a run that is killed, fails or stops at --limit is "
            + "continued by the next run with the same bucket, --shard and selection (--paths, --exclude, "
            + "--older-than, --unused-for, --hot-roots, --trusted-public-key) after that key, not from the start. A run that lists to the end clears it, so the next "
            + "one lists everything again and sees what was added since.",
        "",
        "At the cache's size, split the work with --shard I/N between N workers (each lists only its part of the "
            + "key space) and spare the listing with --keys-from an S3 Inventory. --paths and --exclude may list "
            + "any number of store paths: they are sorted on disk in the --work-dir (about 20 bytes a path), not "
            + "held in memory.",
        ""})
final class MigrateCommand implements Callable<Integer> {
  @picocli.CommandLine.Mixin
  ConfigFile.Mixin config;

  @Mixin
  S3Options s3;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Option(names = "--coordinator", required = true, paramLabel = "URL",
      description = "The coordinator (narvault repair) that places fragments, e.g. http://127.0.0.1:7000.")
  URI coordinator;

  @Option(names = "--worker-key", required = true, paramLabel = "FILE",
      description = "This worker's secret key (narvault keygen); the coordinator must trust its public half "
          + "(narvault repair --worker-public-key).")
  Path workerKey;

  @Option(names = "--trusted-public-key", required = true, paramLabel = "NAME:BASE64",
      description = "A key whose narinfo signatures are trusted (as in nix.conf); repeatable.")
  List<String> trustedKeys;

  @Option(names = "--archive-key", paramLabel = "FILE",
      description = "Required: the secret key that signs manifests, made once with narvault keygen FILE --name "
          + "narvault-archive-1 and shared by every worker; never created by migrate.")
  Path archiveKey;

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "An archive public key the readers (gateway, coordinator, catalog-rebuild) trust; repeatable, "
          + "e.g. the old and the new key while the archive key is rotated. Required with --drain, which reads "
          + "every NAR back through manifests verified with these keys (never with the key it signs with) before "
          + "deleting anything; there is no default. The --archive-key must be one of them.")
  List<String> archivePublicKeys;

  // RS(40,40): chosen by simulation for volunteers (docs/durability.md); needs 80 holders on
  // distinct networks. Small deployments pass a smaller code (the quickstart uses 10+4).
  @Option(names = "--k", defaultValue = "40",
      description = "Data fragments per pack (default: ${DEFAULT-VALUE}; see docs/durability.md).")
  int k;

  @Option(names = "--m", defaultValue = "40",
      description = "Parity fragments per pack (default: ${DEFAULT-VALUE}; needs k+m holders on distinct networks).")
  int m;

  @Option(names = "--pack-size", defaultValue = "64MiB", converter = ByteSize.class,
      description = "Target pack size; a bigger NAR gets its own pack (default: ${DEFAULT-VALUE}).")
  long packSize;

  @Option(names = "--codec", defaultValue = "vector",
      description = "Codec: vector (fast) or backblaze (reference); identical bytes (default: ${DEFAULT-VALUE}).")
  String codec;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-migrate",
      description = "Spool directory for packs and fragments (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(names = "--limit", defaultValue = "0", description = "Stop after this many NARs (0 = all).")
  int limit;

  @Option(names = "--older-than", converter = DurationConverter.class, paramLabel = "DURATION",
      description = "Only NAR objects last modified at least this long ago, e.g. 90d (default: any age).")
  Duration olderThan;

  @Option(names = "--unused-for", converter = DurationConverter.class, paramLabel = "DURATION",
      description = "Only NARs nobody requested within this long, e.g. 180d (by the catalog's access records: "
          + "narvault access import and the gateway's own), and uploaded before it began. Archived NARs "
          + "requested since are not drained; NARs promote put back into S3 are drained again once unused for "
          + "this long.")
  Duration unusedFor;

  @Option(names = "--hot-roots", paramLabel = "FILE", arity = "1..*",
      description = "Never archive or drain the closures of these store paths: files of store paths, one per "
          + "line, plain or compressed (a channel's store-paths.xz), followed through the References of the "
          + "narinfos in the bucket (sorted on disk; each narinfo of the closure is read once per run).")
  List<Path> hotRoots;

  @Option(names = "--paths", paramLabel = "FILE",
      description = "Only these store paths (or hashes), one per line; any number of them (sorted on disk).")
  Path paths;

  @Option(names = "--exclude", paramLabel = "FILE",
      description = "Never these store paths (or hashes), one per line, e.g. closures still in use; any number of "
          + "them (sorted on disk).")
  Path exclude;

  @Option(names = "--keys-from", paramLabel = "FILE", arity = "1..*",
      description = "Read the narinfo keys from these files instead of listing the bucket. A key list has one S3 "
          + "key per line (or the key last on the line, as aws s3 ls prints it): the <hash>.narinfo keys are taken, "
          + "others such as nar/... passed over; gzip-compressed lists are recognised by their first bytes. A file "
          + "that starts with { is an S3 Inventory manifest (manifest.json) of a CSV inventory: its fileSchema "
          + "says which columns hold Key and LastModifiedDate, and the gzip CSV files it names must be on local "
          + "disk, under the manifest's folder or a folder above it, at their key or a tail of it (an aws s3 sync "
          + "of the inventory's prefix, or the files beside the manifest, both work); their sizes and MD5s are "
          + "checked. With an inventory, --older-than takes each NAR object's LastModifiedDate from it instead "
          + "of asking S3. Files are streamed; a restarted run reads them again and skips what is archived.")
  List<Path> keysFrom;

  @Option(names = "--shard", paramLabel = "I/N", converter = ShardConverter.class,
      description = "Take only shard I of N of the store hashes (1 <= I <= N <= 1048576), so that N workers "
          + "split the cache with no shared listing. A hash's shard: its first four characters read as a "
          + "base-32 number v in the nix32 alphabet's order (0123456789abcdfghijklmnpqrsvwxyz, so 0 <= v < "
          + "32^4), shard floor(v * N / 32^4) + 1. Each shard is one contiguous range of keys, which a worker "
          + "that lists lists alone (default: 1/1, everything).")
  Shard shard;

  @Option(names = "--restart-listing",
      description = "List from the start of the shard even where an earlier run saved how far its listing got.")
  boolean restartListing;

  @Option(names = "--drain", description = "Delete each NAR object from S3 once it is archived, placed on at least "
      + "k + r holders and read back and verified through them. Default: a dry run.")
  boolean drain;

  @Option(names = "--drain-to-bucket", paramLabel = "BUCKET",
      description = "With --drain: copy each object to this bucket (same S3 store) before deleting it.")
  String drainBucket;

  @Option(names = "--storage-class", paramLabel = "CLASS",
      description = "With --drain-to-bucket: the copies' storage class, e.g. DEEP_ARCHIVE.")
  String storageClass;

  @Option(names = "--drain-threshold", defaultValue = "-1", paramLabel = "R",
      description = "Drain only NARs of packs with at least k + R healthy fragments (default: ceil(m/2)).")
  int drainThreshold;

  @Option(names = "--backstop-bucket", paramLabel = "BUCKET",
      description = "Also put each sealed pack, with its signed manifest, as one object packs/<pack-id> into this "
          + "bucket (same S3 store): a copy of last resort that the gateway reads when fewer than k fragments "
          + "answer and repair rebuilds lost packs from. The object is uploaded and checked before any NAR of "
          + "the pack is drained.")
  String backstopBucket;

  @Option(names = "--backstop-storage-class", paramLabel = "CLASS",
      description = "With --backstop-bucket: the objects' storage class, e.g. STANDARD_IA or GLACIER_IR (ranged "
          + "reads stay possible). GLACIER and DEEP_ARCHIVE are refused: the gateway and repair cannot read them "
          + "without a restore.")
  String backstopStorageClass;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write a machine-readable report to FILE.")
  Path json;

  @Option(names = "--claim-lifetime", defaultValue = "60s", converter = DurationConverter.class,
      description = "Workers sharing a catalog claim the objects they archive or drain; a dead worker's claims "
          + "expire after this (default: ${DEFAULT-VALUE}).")
  Duration claimLifetime;

  private final PrintStream out;

  MigrateCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Codecs.warmUpInBackground();
    TrustedKeys keys = new TrustedKeys(trustedKeys.stream().map(NixPublicKey::parse).toList());
    if (!drain && (drainBucket != null || storageClass != null)) {
      throw new IllegalArgumentException("--drain-to-bucket and --storage-class need --drain");
    }
    if (drain && archivePublicKeys == null) {
      throw new IllegalArgumentException("--drain needs --archive-public-key: the archive public key(s) the gateway "
          + "trusts, to read every NAR back through verified manifests before deleting it");
    }
    NixSecretKey signer = ArchiveKeys.load(archiveKey);
    DrainConfig drainConfig = new DrainConfig(!drain ? DrainConfig.Mode.DRY_RUN
        : drainBucket != null ? DrainConfig.Mode.MOVE : DrainConfig.Mode.DELETE,
        Optional.ofNullable(drainBucket), Optional.ofNullable(storageClass), drainThreshold,
        Optional.ofNullable(archivePublicKeys).map(TrustedKeys::parse));
    requireFile("--paths", paths);
    requireFile("--exclude", exclude);
    if (hotRoots != null) {
      for (Path f : hotRoots) {
        requireFile("--hot-roots", f);
      }
    }
    if (keysFrom != null) {
      for (Path f : keysFrom) {
        requireFile("--keys-from", f);
      }
      if (restartListing) {
        throw new IllegalArgumentException("--restart-listing is for runs that list the bucket, not --keys-from");
      }
    }
    ColdSelection selection = new ColdSelection(Optional.ofNullable(olderThan), Optional.ofNullable(paths),
        Optional.ofNullable(exclude), shard == null ? Shard.ALL : shard)
        .withUse(Optional.ofNullable(unusedFor), hotRoots == null ? List.of() : hotRoots);
    MigrateConfig config = new MigrateConfig(keys, k, m, packSize, PackLayout.DEFAULT_BLOCK_SIZE,
        Codecs.Kind.parse(codec), workDir, limit).with(selection, drainConfig).withClaimLifetime(claimLifetime)
        .withKeysFrom(keysFrom == null ? List.of() : keysFrom).withRestartListing(restartListing);
    if (backstopBucket != null) {
      config = config.withBackstop(new MigrateConfig.Backstop(backstopBucket, Optional.ofNullable(backstopStorageClass)));
    } else if (backstopStorageClass != null) {
      throw new IllegalArgumentException("--backstop-storage-class needs --backstop-bucket");
    }
    try (Catalog cat = Catalog.open(catalog); S3ObjectSource objects = new S3ObjectSource(s3.toConfig())) {
      Migration migration = new Migration(config, objects, cat, new HolderClient(Duration.ofSeconds(30)),
          signer,
          new PlacementClient(coordinator, NixSecretKey.parse(Files.readString(workerKey)), InstantSource.system()),
          out, Clock.systemUTC(), out == System.out && System.console() != null && System.console().isTerminal());
      MigrationSummary summary = migration.run();
      out.println(summary);
      if (json != null) {
        Files.writeString(json, summary.toJson());
      }
      return summary.rejected() > 0 ? 3 : 0;
    }
  }

  private static void requireFile(String option, Path file) {
    if (file != null && !Files.isRegularFile(file)) {
      throw new IllegalArgumentException(option + ": no such file: " + file);
    }
  }

  /** Parses {@code --shard I/N}, with the bad value in the message. */
  static final class ShardConverter implements CommandLine.ITypeConverter<Shard> {
    @Override
    public Shard convert(String value) {
      try {
        return Shard.parse(value);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
