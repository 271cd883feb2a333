package dev.narvault.core.archive;

import dev.narvault.core.backstop.BackstopFragments;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.ManifestCache;
import dev.narvault.core.erasure.Codec;
import dev.narvault.core.erasure.Codecs;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.FragmentReader;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackFiller;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.PackReader;
import dev.narvault.core.pack.RangeFile;
import dev.narvault.core.pack.ReadBudget;
import dev.narvault.core.s3.ObjectSource;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The archive as the gateway sees it: catalog lookups and verified NAR reads from holders.
 * Manifests are parsed once and kept in a small LRU; with an archive public key configured, each
 * manifest's signature is checked when it is loaded. Reads share a {@link HolderHealth} (a holder
 * that failed is avoided for a while by every request) and a {@link ReadBudget} (memory held by
 * reads in flight). When fewer than k fragments of a pack answer and the catalog records a
 * backstop for it, the rest of the range is read from the backstop object (ranged GETs through the
 * cache's S3 store), verified block by block against the manifest like any holder's bytes.
 */
public final class Archive {
  private static final Logger LOG = LoggerFactory.getLogger(Archive.class);
  private static final int MANIFEST_CACHE = 1024;
  /** A holder that has not answered a range in this long is read around while it keeps trying. */
  private static final Duration HEDGE_AFTER = Duration.ofSeconds(2);
  /**
   * A backstop is the last source: there is nothing to read around it with, so a slow answer is
   * waited for (the store's own timeouts end a dead one).
   */
  private static final Duration BACKSTOP_PATIENCE = Duration.ofMinutes(10);
  /** A read cancelled after this many times its expected time counts as a failure of its holder. */
  private static final double SLOW_FACTOR = 4;
  /** Default memory for reads in flight, all requests together. */
  public static final long DEFAULT_READ_BUDGET = 32L << 20;

  private final Catalog catalog;
  private final HolderClient holders;
  private final HolderHealth health;
  private final ReadBudget budget;
  private final ReadBudget decodeBudget;
  /** One codec per code, shared by all requests: it caches the decode matrices of erasure patterns. */
  private final ConcurrentHashMap<String, Codec> codecs = new ConcurrentHashMap<>();
  /** Chunks, degraded reads and hedges block on the network, so virtual threads. */
  private final Executor parallelReads = Executors.newVirtualThreadPerTaskExecutor();
  private final ManifestCache manifests;
  private final Optional<ObjectSource> store;
  /** The store's buckets that hold backstops, each opened once. */
  private final ConcurrentHashMap<String, ObjectSource> backstopBuckets = new ConcurrentHashMap<>();

  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys, HolderHealth health,
      ReadBudget budget) {
    this(catalog, holders, archiveKeys, health, budget, Optional.empty());
  }

  /**
   * @param store the cache's S3 store, through which packs' backstops (in buckets of that store)
   *     are read when fewer than k fragments answer; none: reads fail then
   */
  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys, HolderHealth health,
      ReadBudget budget, Optional<ObjectSource> store) {
    this.store = store;
    this.catalog = catalog;
    this.holders = holders;
    this.health = health;
    this.budget = budget;
    // Decoding gets as much again, apart, so that chunks waiting for decodes never starve them.
    this.decodeBudget = new ReadBudget(budget.totalBytes());
    this.manifests = new ManifestCache(catalog, archiveKeys, MANIFEST_CACHE);
  }

  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys) {
    this(catalog, holders, archiveKeys, HolderHealth.withDefaults(), new ReadBudget(DEFAULT_READ_BUDGET));
  }

  /** With the cache's S3 store, through which backstops are read as a last resort. */
  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys, ObjectSource store) {
    this(catalog, holders, archiveKeys, HolderHealth.withDefaults(), new ReadBudget(DEFAULT_READ_BUDGET),
        Optional.of(store));
  }

  public Optional<ArchivedNar> narInfo(String storeHash) throws CatalogException {
    return catalog.narByStoreHash(storeHash);
  }

  public Optional<ArchivedNar> nar(String fileKey) throws CatalogException {
    return catalog.narByFileKey(fileKey);
  }

  /** Whether the store path of this hash was forgotten ({@code narvault forget}): a 404, and S3 not asked. */
  public boolean isForgotten(String storeHash) throws CatalogException {
    return catalog.forgotten().isForgotten(storeHash);
  }

  /** Whether a forgotten store path named this S3 object: a 404, and S3 not asked. */
  public boolean isForgottenObject(String fileKey) throws CatalogException {
    return catalog.forgotten().isForgottenObject(fileKey);
  }

  /**
   * Whether an archived NAR was put back ({@code promote}, {@code restore}) into {@code bucket}, the
   * one a gateway proxies: S3 serves it then. One put back into another bucket is not there.
   */
  public boolean backInS3(ArchivedNar nar, String bucket) throws CatalogException {
    return catalog.journal().isBackIn(nar.storeHash(), bucket);
  }

  /**
   * What one read cost.
   *
   * @param readAround fragments that had to be read around (unreachable, corrupt or slow)
   * @param holderBytes bytes received from holders, decoding and block rounding included
   */
  public record ReadCost(int readAround, long holderBytes) {}

  /**
   * Writes NAR bytes {@code [from, from + length)} to {@code out}, every byte verified. Throws
   * before writing anything when the pack cannot be read at all.
   */
  public ReadCost read(ArchivedNar nar, long from, long length, OutputStream out) throws IOException {
    if (from < 0 || length < 0 || from + length > nar.length()) {
      throw new IllegalArgumentException("range " + from + "+" + length + " outside NAR of " + nar.length());
    }
    return readPack(nar.packId(), nar.packOffset() + from, length, out);
  }

  /**
   * Writes pack bytes {@code [packOffset, packOffset + length)} to {@code out}, every byte
   * verified, from holders or, when fewer than k fragments answer, the pack's backstop.
   */
  public ReadCost readPack(PackId packId, long packOffset, long length, OutputStream out) throws IOException {
    Manifest manifest = manifest(packId);
    if (packOffset < 0 || length < 0 || packOffset + length > manifest.packLength()) {
      throw new IllegalArgumentException("range " + packOffset + "+" + length + " outside pack of "
          + manifest.packLength());
    }
    Holders reader = new Holders(manifest, catalog.placements(packId));
    Codec codec = codec(manifest);
    PackReader packReader = new PackReader(manifest, codec, reader,
        PackReader.Options.DEFAULTS.withExecutor(parallelReads, HEDGE_AFTER).withBudgets(budget, decodeBudget));
    Written written = new Written(out);
    try {
      packReader.read(packOffset, length, written);
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      if (written.failed) {
        // The client went away, not the holders.
        throw e;
      }
      Optional<Backstops.Backstop> backstop = store.isEmpty() ? Optional.empty() : catalog.backstops().of(packId);
      if (backstop.isEmpty()) {
        throw e;
      }
      // Fewer than k fragments answered: the rest of the range from the backstop, verified the same way.
      long done = written.count;
      LOG.warn("pack {}: fewer than {} fragments answered ({}); reading bytes {}+{} from its backstop {}",
          packId.shortForm(), manifest.dataFragmentCount(), e.getMessage(), packOffset + done, length - done,
          backstop.get().location());
      readBackstop(manifest, codec, backstop.get(), packOffset + done, length - done, out, e);
    } finally {
      reader.blameCorrupt(packReader.corruptFragments());
    }
    return new ReadCost(packReader.failedFragments().cardinality(), packReader.bytesFromHolders());
  }

  /**
   * Writes pack bytes {@code [packOffset, packOffset + length)} of a pack the catalog does not
   * record (yet) to {@code out}, every byte verified against {@code manifest}, from the holders
   * {@code placements} name: a rewrite reads its new pack back so before it commits it. Holders
   * only, no backstop.
   */
  public ReadCost readPlaced(Manifest manifest, List<FragmentPlacement> placements, long packOffset, long length,
      OutputStream out) throws IOException {
    if (packOffset < 0 || length < 0 || packOffset + length > manifest.packLength()) {
      throw new IllegalArgumentException("range " + packOffset + "+" + length + " outside pack of "
          + manifest.packLength());
    }
    Holders reader = new Holders(manifest, placements);
    PackReader packReader = new PackReader(manifest, codec(manifest), reader,
        PackReader.Options.DEFAULTS.withExecutor(parallelReads, HEDGE_AFTER).withBudgets(budget, decodeBudget));
    try {
      packReader.read(packOffset, length, out);
    } finally {
      reader.blameCorrupt(packReader.corruptFragments());
    }
    return new ReadCost(packReader.failedFragments().cardinality(), packReader.bytesFromHolders());
  }

  /**
   * Pack bytes {@code [packOffset, packOffset + length)} from {@code backstop}, every block
   * verified against the manifest exactly as fragment bytes are: a backstop is trusted no more
   * than a holder.
   */
  private void readBackstop(Manifest manifest, Codec codec, Backstops.Backstop backstop, long packOffset, long length,
      OutputStream out, IOException holdersFailed) throws IOException {
    ObjectSource bucket;
    try {
      bucket = backstopBuckets.computeIfAbsent(backstop.bucket(), b -> {
        try {
          return store.orElseThrow().inBucket(b);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
    } catch (java.io.UncheckedIOException e) {
      throw new IOException(holdersFailed.getMessage() + "; and its backstop cannot be reached: "
          + e.getCause().getMessage(), e.getCause());
    }
    PackReader fromBackstop = new PackReader(manifest, codec, new BackstopFragments(bucket, backstop, manifest.layout()),
        PackReader.Options.DEFAULTS.withExecutor(parallelReads, BACKSTOP_PATIENCE).withBudgets(budget, decodeBudget));
    try {
      fromBackstop.read(packOffset, length, out);
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      String why = fromBackstop.corruptFragments().isEmpty() ? "failed: " + e.getMessage()
          : "does not match the pack's signed manifest (data fragments " + fromBackstop.corruptFragments()
              + "): refused";
      LOG.error("pack {}: its backstop {} {}", backstop.packId().shortForm(), backstop.location(), why);
      IOException failed = new IOException("fewer than " + manifest.dataFragmentCount() + " fragments answered ("
          + holdersFailed.getMessage() + ") and the backstop " + backstop.location() + " " + why, e);
      failed.addSuppressed(holdersFailed);
      throw failed;
    }
  }

  /** What was written to a reader's output, and whether writing it failed (the client, not the pack). */
  private static final class Written extends java.io.FilterOutputStream {
    long count;
    boolean failed;

    Written(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      try {
        out.write(b, off, len);
      } catch (IOException | RuntimeException e) {
        failed = true;
        throw e;
      }
      count += len;
    }

    @Override
    public void flush() throws IOException {
      try {
        out.flush();
      } catch (IOException | RuntimeException e) {
        failed = true;
        throw e;
      }
    }

    @Override
    public void close() {
      // The caller's stream: the caller closes it.
    }
  }

  /**
   * Writes the whole NAR into {@code file}, every byte verified, in whatever order its bytes
   * arrive: every fragment it spans is read at once ({@link PackFiller}), so a NAR over k
   * fragments comes at up to k holders' speed; with {@code spread}, a NAR over all k at up to n
   * holders' speed ({@link PackFiller.Options#spread}). Returns when all of it is written; throws
   * when the pack cannot be read (what was written by then is verified, but not all of the NAR).
   */
  public ReadCost fill(ArchivedNar nar, RangeFile file, boolean spread) throws IOException {
    Manifest manifest = manifest(nar.packId());
    Holders reader = new Holders(manifest, catalog.placements(nar.packId()));
    PackFiller filler = new PackFiller(manifest, codec(manifest), reader,
        PackFiller.Options.of(parallelReads).withHedgeAfter(HEDGE_AFTER).withBudgets(budget, decodeBudget)
            .withSpread(spread));
    WrittenRanges written = new WrittenRanges(file);
    try {
      filler.fill(nar.packOffset(), nar.length(), written);
    } catch (InterruptedIOException e) {
      throw e;
    } catch (IOException e) {
      if (written.fileFailed()) {
        // The file (or whoever follows it) failed, not the holders.
        throw e;
      }
      Optional<Backstops.Backstop> backstop = store.isEmpty() ? Optional.empty() : catalog.backstops().of(nar.packId());
      if (backstop.isEmpty()) {
        throw e;
      }
      // Fewer than k fragments answered: what is not in the file yet from the backstop, verified the same way.
      List<long[]> gaps = written.gaps(nar.length());
      LOG.warn("pack {}: fewer than {} fragments answered ({}); reading {} gaps of NAR {} from its backstop {}",
          nar.packId().shortForm(), manifest.dataFragmentCount(), e.getMessage(), gaps.size(), nar.fileKey(),
          backstop.get().location());
      for (long[] gap : gaps) {
        readBackstop(manifest, codec(manifest), backstop.get(), nar.packOffset() + gap[0], gap[1],
            new WrittenRanges.Output(file, gap[0]), e);
      }
    } finally {
      reader.blameCorrupt(filler.corruptFragments());
    }
    return new ReadCost(filler.failedFragments().cardinality(), filler.bytesFromHolders());
  }



  private Codec codec(Manifest manifest) {
    return codecs.computeIfAbsent(manifest.dataFragmentCount() + "+" + manifest.parityFragmentCount(),
        code -> Codecs.create(manifest.dataFragmentCount(), manifest.parityFragmentCount()));
  }

  /** A pack's fragments on their holders, for one read; failures are remembered in {@link #health}. */
  private final class Holders implements FragmentReader {
    private final Manifest manifest;
    private final List<FragmentPlacement> placements;
    /** Who served each fragment last, so a corrupt block can be blamed on its holder. */
    private final ConcurrentHashMap<Integer, String> servedBy = new ConcurrentHashMap<>();

    Holders(Manifest manifest, List<FragmentPlacement> placements) {
      this.manifest = manifest;
      this.placements = placements;
    }

    /**
     * Copies the catalog counts as stored first, then any other copy a holder may still have
     * (superseded by repair, not yet deleted): every byte is verified either way. Holders backing
     * off after failures are asked last, when no other copy answered: readers ask for a fragment
     * whose holders fail lately only when they need it ({@link #likelyAvailable}).
     */
    @Override
    public byte[] read(int index, long offset, int length) throws IOException {
      FragmentId id = manifest.fragments().get(index).id();
      IOException last = null;
      List<FragmentPlacement> backingOff = new ArrayList<>();
      for (FragmentPlacement p : copies(index, id)) {
        if (!health.tryUse(p.endpoint())) {
          backingOff.add(p);
          continue;
        }
        try {
          return readFrom(p, index, id, offset, length);
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException e) {
          last = e;
        }
      }
      for (FragmentPlacement p : backingOff) {
        try {
          return readFrom(p, index, id, offset, length);
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException e) {
          last = e;
        }
      }
      throw last != null ? last : new IOException("no holder has fragment " + index + " (" + id + ")");
    }

    /** One copy's bytes; what happened is remembered in {@link #health}. */
    private byte[] readFrom(FragmentPlacement p, int index, FragmentId id, long offset, int length)
        throws IOException {
      double expected = health.expectedMillis(p.endpoint(), length);
      int sharing = health.begin(p.endpoint());
      long t0 = System.nanoTime();
      try {
        byte[] bytes = holders.read(URI.create(p.endpoint()), id, offset, length);
        health.answered(p.endpoint(), System.nanoTime() - t0, bytes.length,
            (sharing + health.inFlight(p.endpoint())) / 2.0);
        servedBy.put(index, p.endpoint());
        return bytes;
      } catch (InterruptedIOException e) {
        // Cancelled: the client left, or the holder was read around for being slow. Slow means
        // past the hedge time and, when its speed is known, well past what the reads sharing it
        // explain: a capped holder that many reads wait for is busy, not failing.
        long took = System.nanoTime() - t0;
        if (took >= HEDGE_AFTER.toNanos() && !(took / 1e6 < SLOW_FACTOR * expected)) {
          LOG.debug("holder {} read around after {} ms (expected {} ms)", p.endpoint(), took / 1_000_000, expected);
          health.failed(p.endpoint());
        }
        throw e;
      } catch (IOException e) {
        LOG.debug("holder {} failed: {}", p.endpoint(), e.toString());
        health.failed(p.endpoint());
        throw e;
      } finally {
        health.end(p.endpoint());
      }
    }

    @Override
    public boolean likelyAvailable(int index) {
      FragmentId id = manifest.fragments().get(index).id();
      return copies(index, id).stream().anyMatch(p -> health.usable(p.endpoint()));
    }

    /**
     * The time per MiB a read from the holder it would go to first may take now (its recent speed
     * and the reads in flight to it); 0 when not measured yet.
     */
    @Override
    public double expectedCost(int index) {
      FragmentId id = manifest.fragments().get(index).id();
      for (FragmentPlacement p : copies(index, id)) {
        if (health.usable(p.endpoint())) {
          double millis = health.expectedMillis(p.endpoint(), 1 << 20);
          return Double.isNaN(millis) ? 0 : millis;
        }
      }
      return Double.POSITIVE_INFINITY;
    }

    private List<FragmentPlacement> copies(int index, FragmentId id) {
      List<FragmentPlacement> stored = new ArrayList<>();
      List<FragmentPlacement> others = new ArrayList<>();
      for (FragmentPlacement p : placements) {
        if (p.fragmentIndex() == index && p.fragmentId().equals(id.hex())) {
          (p.stored() ? stored : others).add(p);
        }
      }
      stored.addAll(others);
      return stored;
    }

    void blameCorrupt(BitSet corrupt) {
      for (int i = corrupt.nextSetBit(0); i >= 0; i = corrupt.nextSetBit(i + 1)) {
        String endpoint = servedBy.get(i);
        if (endpoint != null) {
          health.failed(endpoint);
        }
      }
    }
  }

  private Manifest manifest(PackId packId) throws IOException {
    return manifests.get(packId);
  }
}
