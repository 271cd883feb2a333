package dev.narvault.cli;

import dev.narvault.core.access.AccessRecorder;
import dev.narvault.core.archive.Archive;
import dev.narvault.core.archive.HolderHealth;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.ReadBudget;
import dev.narvault.core.s3.S3ObjectSource;
import dev.narvault.gateway.server.Cidr;
import dev.narvault.gateway.server.ClientIdentity;
import dev.narvault.gateway.server.GatewayConfig;
import dev.narvault.gateway.server.GatewayServer;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault gateway}: a Nix substituter over the archive, with S3 behind it. */
@Command(name = "gateway", mixinStandardHelpOptions = true,
    header = "Serve the archive to Nix as an HTTP binary cache.",
    description = {"Serves the archive to Nix as an HTTP binary cache: nix-cache-info, <hash>.narinfo and "
            + "nar/<file>. Archived NARs are rebuilt from holders, every byte verified; anything not archived "
            + "(or not rebuildable right now) is proxied from the S3 cache.",
        "",
        "Answers carry caching for a CDN in front: NARs Cache-Control: public, max-age=31536000, immutable with "
            + "their FileHash as ETag (If-None-Match answers 304), narinfo public, max-age=3600, 404 kept for "
            + "--negative-ttl, 503 (with Retry-After) and 429 no-store. Behind proxies, see --trusted-proxy.",
        ""})
final class GatewayCommand implements Callable<Integer> {
  @picocli.CommandLine.Mixin
  ConfigFile.Mixin config;

  @Mixin
  S3Options s3;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  @Option(names = "--port", defaultValue = "8080", description = "TCP port (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--priority", defaultValue = "50",
      description = "Priority in nix-cache-info; above cache.nixos.org's 40 by default (default: ${DEFAULT-VALUE}).")
  int priority;

  @Option(names = "--archive-public-key", paramLabel = "NAME:BASE64",
      description = "Check each pack manifest's signature with these keys; repeatable: while the archive key is "
          + "rotated, both the old and the new key (without any, manifests are taken from the catalog unchecked).")
  List<String> archivePublicKeys;

  @Option(names = "--misses-per-second", defaultValue = "20",
      description = "How fast one client (an IPv4 address or IPv6 /64) may ask for things that exist nowhere: "
          + "refill rate of its miss budget; past it, 429 (default: ${DEFAULT-VALUE}).")
  double missesPerSecond;

  @Option(names = "--miss-burst", defaultValue = "200",
      description = "How many such misses a client may make at once (default: ${DEFAULT-VALUE}).")
  double missBurst;

  @Option(names = "--negative-ttl", defaultValue = "30s", converter = DurationConverter.class,
      description = "How long something found nowhere is answered 404 without asking S3 again "
          + "(default: ${DEFAULT-VALUE}).")
  Duration negativeTtl;

  @Option(names = "--trusted-proxy", paramLabel = "CIDR",
      description = "A reverse proxy or CDN range in front of the gateway, e.g. 192.0.2.0/24, 2001:db8::/32 or one "
          + "address; repeatable (a CDN's published ranges). A request from one of them is charged to the client "
          + "it names: the --client-ip-header if set and present, else X-Forwarded-For read from the right over "
          + "trusted proxies only (the first entry that is not one is the client). From anywhere else, headers are "
          + "ignored and the connection's address is the client (default: none).")
  List<String> trustedProxies = List.of();

  @Option(names = "--client-ip-header", paramLabel = "NAME",
      description = "A header the first trusted proxy sets to its client's address, overwriting what the client "
          + "sent, e.g. Fastly-Client-IP or CF-Connecting-IP; read only on requests from a --trusted-proxy.")
  String clientIpHeader;

  @Option(names = "--trust-forwarded-for",
      description = "Deprecated, use --trusted-proxy: takes every peer for a proxy and the last X-Forwarded-For "
          + "entry for the client, which behind a CDN with shielding is a CDN node, so a whole point of presence "
          + "shares one budget.")
  boolean trustForwardedFor;

  @Option(names = "--nar-cache-dir", paramLabel = "DIR",
      description = "Where NARs are rebuilt from holders and kept, so a popular one is rebuilt once (its earlier "
          + "entries are deleted at start; default: a temporary directory).")
  Path narCacheDir;

  @Option(names = "--nar-cache-size", defaultValue = "1GiB", converter = ByteSize.class,
      description = "At most this many bytes of rebuilt NARs kept (0: none; default: ${DEFAULT-VALUE}).")
  long narCacheSize;

  @Option(names = "--nar-spool-size", defaultValue = "4GiB", converter = ByteSize.class,
      description = "At most this many bytes of NARs being rebuilt, in files next to the kept ones. Each NAR is "
          + "rebuilt into a file once for everyone asking meanwhile, all the fragments it spans read at once "
          + "(the file is the reorder buffer); a NAR that finds no room is read by each request, one fragment "
          + "after the other, at one holder's speed (0: always so; default: ${DEFAULT-VALUE}).")
  long narSpoolSize;

  @Option(names = "--spread-reads", negatable = true, defaultValue = "true", fallbackValue = "true",
      description = "Read a whole NAR that spans every data fragment from all the pack's holders, parity included: "
          + "each stripe from a different k of the n, the data left out decoded, so that n links are busy "
          + "instead of k (only while all its holders seem up; default: ${DEFAULT-VALUE}).")
  boolean spreadReads;

  @Option(names = "--overhead-per-second", defaultValue = "8MiB", converter = ByteSize.class,
      description = "Holder bytes per second a client may cost beyond what it receives (decoding, tiny ranges); "
          + "past its budget, 429 (default: ${DEFAULT-VALUE}).")
  long overheadPerSecond;

  @Option(names = "--overhead-burst", defaultValue = "256MiB", converter = ByteSize.class,
      description = "Such overhead a client may cost at once (default: ${DEFAULT-VALUE}).")
  long overheadBurst;

  @Option(names = "--read-memory", defaultValue = "32MiB", converter = ByteSize.class,
      description = "Memory for holder reads in flight, all requests together (decoding gets as much again); "
          + "each request still gets its next chunk (default: ${DEFAULT-VALUE}).")
  long readMemory;

  @Option(names = "--holder-timeout", defaultValue = "10s", converter = DurationConverter.class,
      description = "How long a holder may take to start answering (default: ${DEFAULT-VALUE}).")
  Duration holderTimeout;

  @Option(names = "--no-access-records",
      description = "Do not count requests for archived NARs in the catalog's access records (by default they are "
          + "written once a second, so that migrate --unused-for and promote see them after the drain; a catalog "
          + "that is slow or down never holds a request up).")
  boolean noAccessRecords;

  private final PrintStream out;

  GatewayCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    Codecs.warmUpInBackground();
    if (trustForwardedFor) {
      System.err.println("narvault: --trust-forwarded-for is deprecated: it charges a CDN node's clients to the "
          + "node; use --trusted-proxy CIDR (and --client-ip-header NAME)");
    }
    GatewayConfig config = new GatewayConfig(new InetSocketAddress(bind, port), priority)
        .withMisses(new GatewayConfig.MissLimits(new GatewayConfig.Rate(missesPerSecond, missBurst), negativeTtl))
        .withClientIdentity(new ClientIdentity(trustedProxies.stream().map(Cidr::parse).toList(),
            Optional.ofNullable(clientIpHeader), trustForwardedFor))
        .withCache(new GatewayConfig.CacheSettings(Optional.ofNullable(narCacheDir), narCacheSize,
            narSpoolSize))
        .withOverhead(new GatewayConfig.Rate(overheadPerSecond, overheadBurst))
        .withSpreadReads(spreadReads);
    Optional<TrustedKeys> keys = Optional.ofNullable(archivePublicKeys).map(TrustedKeys::parse);
    try (Catalog cat = Catalog.open(catalog); S3ObjectSource objects = new S3ObjectSource(s3.toConfig());
        GatewayServer server = GatewayServer.start(config, new Archive(cat, new HolderClient(holderTimeout), keys,
            HolderHealth.withDefaults(), new ReadBudget(readMemory), Optional.of(objects)), objects, noAccessRecords ? Optional.empty()
            : Optional.of(AccessRecorder.start(cat.access(), InstantSource.system(), AccessRecorder.DEFAULT_MAX_PENDING,
                AccessRecorder.DEFAULT_EVERY)))) {
      out.println("gateway serving at " + server.endpoint() + " (Ctrl-C to stop)");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close));
      server.awaitClose();
    }
    return 0;
  }
}
