package dev.narvault.cli;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.AuditState;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.HolderStatus;
import dev.narvault.core.catalog.SuspensionScore;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.repair.Membership;
import dev.narvault.repair.rebuild.CatalogRebuild;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault catalog-rebuild}: the catalog from the holders alone. */
@Command(name = "catalog-rebuild", mixinStandardHelpOptions = true,
    header = "Rebuild a lost catalog from the manifests and aliases the holders store.",
    description = {"Rebuilds the catalog from what the holders hold: asks the coordinator for the registered holders "
            + "(after a catalog loss, restart the coordinator on an empty catalog and wait a heartbeat: holders "
            + "register again), lists every holder's fragments, reads those that are signed documents (every "
            + "pack's manifest and every alias is stored on 3 holders), keeps only those a trusted archive "
            + "key signed, and restores packs, NARs, aliases and where each fragment is into --catalog (usually the "
            + "coordinator's new catalog).",
        "",
        "It streams: the listings are sorted on disk in --work-dir (about 36 bytes per listed fragment, twice while "
            + "merging, plus the documents found), documents are handled as they are found, and memory does not grow "
            + "with the archive. A progress line goes to standard error every 5 seconds. It exits with 3 when some "
            + "pack has fewer than k fragments on the holders it could reach, or some listed fragment could not be "
            + "read from any holder listing it; running it again restores nothing twice.",
        ""})
final class CatalogRebuildCommand implements Callable<Integer> {
  @Option(names = "--coordinator", required = true, paramLabel = "URL", description = "The coordinator's URL.")
  URI coordinator;

  @Option(names = "--archive-public-key", required = true, paramLabel = "NAME:BASE64",
      description = "An archive public key: only documents signed by one of these are trusted; repeatable (every "
          + "archive key that ever signed packs still held, old and new alike).")
  List<String> archiveKeys;

  @Option(names = "--catalog", required = true, description = "The catalog to rebuild into (JDBC URL).")
  String catalog;

  @Option(names = "--work-dir", defaultValue = "${java.io.tmpdir}/narvault-rebuild", paramLabel = "DIR",
      description = "Where the sorted listings and the documents found go while it runs (default: ${DEFAULT-VALUE}).")
  Path workDir;

  @Option(names = "--readers", defaultValue = "16", description = "Fragments asked about at once; a quarter as many "
      + "holders are listed at once (default: ${DEFAULT-VALUE}).")
  int readers;

  @Option(names = "--max-listed", defaultValue = "20000000", paramLabel = "N", description = "The most fragment ids "
      + "taken from one holder's listing; a holder listing more is cut off there and reported (default: "
      + "${DEFAULT-VALUE}).")
  long maxListed;

  private final PrintStream out;

  CatalogRebuildCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    TrustedKeys keys = TrustedKeys.parse(archiveKeys);
    List<HolderRecord> holders = holders();
    out.println("coordinator lists " + holders.size() + " holders");
    // Sorting takes an eighth of the heap, at most 64 MiB; document reads another 64 MiB at most.
    long sortMemory = Math.clamp(Runtime.getRuntime().maxMemory() / 8, 1L << 20, 64L << 20);
    CatalogRebuild.Options options = CatalogRebuild.Options.defaults(workDir).withReaders(readers)
        .withSortMemory(sortMemory).withMaxListedPerHolder(maxListed);
    try (Catalog cat = Catalog.open(catalog)) {
      CatalogRebuild.Result result = new CatalogRebuild(cat, new HolderClient(Duration.ofSeconds(30)), keys, out,
          System.err, InstantSource.system(), options).run(holders);
      out.println(result);
      return result.packsIncomplete() > 0 || result.idsUnread() > 0 ? 3 : 0;
    }
  }

  private List<HolderRecord> holders() throws IOException, InterruptedException {
    HttpResponse<byte[]> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create(coordinator + "/v1/holders")).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IOException("coordinator " + coordinator + " answered HTTP " + r.statusCode() + " to /v1/holders");
    }
    Membership.Listed[] listed = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .readValue(r.body(), Membership.Listed[].class);
    return java.util.Arrays.stream(listed).map(CatalogRebuildCommand::record).toList();
  }

  static HolderRecord record(Membership.Listed l) {
    return new HolderRecord(new HolderId(l.holderId()), l.endpoint(), Optional.of(l.publicKey()), l.capacityBytes(), l.usedBytes(),
        0, "", l.operator(), l.location(), l.lastSeenMillis(), AuditState.OK, l.seenAddress(),
        l.lastSeenMillis(), AuditScore.NEW, HolderStatus.ONLINE, l.lastSeenMillis(), SuspensionScore.NEW, 0,
        dev.narvault.core.catalog.HolderAway.NONE);
  }
}
