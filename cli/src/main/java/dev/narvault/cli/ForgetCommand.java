package dev.narvault.cli;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.coordinator.PlacementClient;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.encoder.PackRewrite;
import dev.narvault.encoder.Takedown;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code narvault forget}: a takedown. */
@Command(name = "forget", mixinStandardHelpOptions = true,
    header = "Take archived store paths down: signed tombstones, 404 at the gateway, S3 objects deleted, packs "
        + "rewritten without them.",
    description = {"For each store path (and every other store path whose narinfo names the same NAR object), "
            + "signs a tombstone with the archive key (store hash, the NAR's S3 key, FileHash and NarHash as "
            + "recorded, its pack, --reason, the time), stores it on three holders and records the path as "
            + "forgotten in the catalog: from then on the gateway answers 404 for its narinfo, NAR and listing "
            + "without asking S3, promote never puts it back, and catalog-rebuild keeps it forgotten. Then its "
            + "narinfo and NAR objects are deleted from --bucket, so that a CDN in front of the bucket cannot "
            + "serve them either.",
        "Every run also finishes the S3 deletions an earlier run left (killed, or S3 failing); run it again with "
            + "no paths to do only that. All paths are recorded before any deletion; a deletion that fails is "
            + "reported, stays pending for the next run and makes the exit status 1. Forgetting a path twice "
            + "records nothing new, but its aliases are looked up again. Paths the catalog "
            + "does not know are refused and nothing is done.",
        "Then every pack whose forgotten NARs make up at least --rewrite-dead-share of its bytes is rewritten "
            + "without them: its live NARs are read through the holders and checked against their narinfos, "
            + "sealed into a new pack (same code, manifest signed with the archive key and naming the old pack), "
            + "read back, and moved to it in one catalog transaction; the old pack is retired, and garbage "
            + "collection deletes its copies an hour later. A pack with no live NAR is retired whole. A pack's "
            + "backstop is replaced by the new pack's, then deleted. A pack repair holds, or whose rewrite fails, "
            + "is left as it was (still serving), reported, and makes the exit status 1; the next run tries it "
            + "again. Below the share, a forgotten NAR's bytes stay in their pack, never served.",
        ""})
final class ForgetCommand implements Callable<Integer> {
  @Mixin
  S3Options s3;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Option(names = "--coordinator", required = true, paramLabel = "URL",
      description = "The coordinator (narvault repair) that places the tombstones, e.g. http://127.0.0.1:7000.")
  URI coordinator;

  @Option(names = "--worker-key", required = true, paramLabel = "FILE",
      description = "A worker's secret key (narvault keygen) the coordinator trusts (narvault repair "
          + "--worker-public-key), as for migrate.")
  Path workerKey;

  @Option(names = "--archive-key", paramLabel = "FILE",
      description = "Required: the archive's secret key (the one migrate signs manifests with); the gateway and "
          + "catalog-rebuild only honour tombstones a trusted archive key signed.")
  Path archiveKey;

  @Option(names = "--archive-public-key", required = true, paramLabel = "NAME:BASE64",
      description = "An archive public key the gateway and catalog-rebuild trust; repeatable. The --archive-key "
          + "must be one of them: a tombstone signed by any other key would be ignored by a rebuild, and the path "
          + "served again.")
  List<String> archivePublicKeys;

  @Option(names = "--reason", paramLabel = "TEXT",
      description = "Why, in a sentence (a ticket, a request); signed into every tombstone. Required with paths.")
  String reason;

  @Option(names = "--paths", paramLabel = "FILE",
      description = "A file of store paths or store hashes to forget, one a line (blank lines and # comments "
          + "skipped), besides those given as arguments.")
  Path paths;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-forget",
      description = "Where a tombstone waits while it is placed (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(names = "--rewrite-dead-share", paramLabel = "SHARE", defaultValue = "0.5",
      description = "Rewrite packs whose forgotten NARs are at least this share of their bytes, 0 to 1 "
          + "(default: ${DEFAULT-VALUE}; 0 rewrites every pack with a forgotten NAR, so that no taken-down byte "
          + "stays on the holders).")
  double rewriteDeadShare;

  @Option(names = "--no-rewrite", description = "Rewrite no pack this run: only record and delete.")
  boolean noRewrite;

  @Parameters(paramLabel = "STORE-PATH-OR-HASH", arity = "0..*",
      description = "Store paths (/nix/store/HASH-NAME) or store hashes to forget.")
  List<String> arguments = new ArrayList<>();

  private final PrintStream out;

  ForgetCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    List<String> hashes = new ArrayList<>();
    for (String a : arguments) {
      hashes.add(Takedown.storeHash(a));
    }
    if (paths != null) {
      if (!Files.isRegularFile(paths)) {
        throw new IllegalArgumentException("--paths: no such file: " + paths);
      }
      for (String line : Files.readAllLines(paths, StandardCharsets.UTF_8)) {
        if (!line.isBlank() && !line.strip().startsWith("#")) {
          hashes.add(Takedown.storeHash(line));
        }
      }
    }
    if (!(rewriteDeadShare >= 0 && rewriteDeadShare <= 1)) {
      throw new IllegalArgumentException("--rewrite-dead-share must be 0 to 1, got " + rewriteDeadShare);
    }
    NixSecretKey signer = ArchiveKeys.load(archiveKey);
    TrustedKeys trusted = TrustedKeys.parse(archivePublicKeys);
    if (!trusted.trusts(signer.publicKey())) {
      throw new IllegalArgumentException("the archive key signs as " + signer.publicKey() + ", which the trusted "
          + "archive keys (--archive-public-key) do not include: a rebuilt catalog would ignore its tombstones; "
          + "nothing was done");
    }
    try (Catalog cat = Catalog.open(catalog); S3ObjectSource objects = new S3ObjectSource(s3.toConfig())) {
      HolderClient holders = new HolderClient(Duration.ofSeconds(30));
      PlacementClient placement = new PlacementClient(coordinator, NixSecretKey.parse(Files.readString(workerKey)),
          InstantSource.system());
      Takedown takedown = new Takedown(cat, holders, placement, signer, objects, workDir, out, InstantSource.system());
      Takedown.Result result = takedown.run(hashes, reason);
      out.println(result);
      int exit = result.s3ObjectsPending() > 0 ? 1 : 0;
      if (!noRewrite) {
        PackRewrite.Result rewritten = new PackRewrite(cat, holders, placement, signer, trusted, Optional.of(objects),
            workDir, out, InstantSource.system()).rewriteDead(rewriteDeadShare);
        out.println(rewritten);
        exit = rewritten.left() > 0 ? 1 : exit;
      }
      return exit;
    }
  }
}
