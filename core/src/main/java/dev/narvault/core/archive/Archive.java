package dev.narvault.core.archive;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.catalog.Journal;
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
 * reads in flight).
 */
public final class Archive {
  private static final Logger LOG = LoggerFactory.getLogger(Archive.class);
  private static final int MANIFEST_CACHE = 1024;
  /** A holder that has not answered a range in this long is read around while it keeps trying. */
  private static final Duration HEDGE_AFTER = Duration.ofSeconds(2);
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

  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys, HolderHealth health,
      ReadBudget budget) {
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

  public Optional<ArchivedNar> narInfo(String storeHash) throws CatalogException {
    return catalog.narByStoreHash(storeHash);
  }

  public Optional<ArchivedNar> nar(String fileKey) throws CatalogException {
    return catalog.narByFileKey(fileKey);
  }

  /** Whether an archived NAR was put back into S3 ({@code promote}, {@code restore}): S3 serves it then. */
  public boolean backInS3(ArchivedNar nar) throws CatalogException {
    return catalog.journal().state(nar.storeHash()).filter(s -> s == Journal.State.RESTORED).isPresent();
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
    Manifest manifest = manifest(nar.packId());
    Holders reader = new Holders(manifest, catalog.placements(nar.packId()));
    PackReader packReader = new PackReader(manifest, codec(manifest), reader,
        PackReader.Options.DEFAULTS.withExecutor(parallelReads, HEDGE_AFTER).withBudgets(budget, decodeBudget));
    try {
      packReader.read(nar.packOffset() + from, length, out);
    } finally {
      reader.blameCorrupt(packReader.corruptFragments());
    }
    return new ReadCost(packReader.failedFragments().cardinality(), packReader.bytesFromHolders());
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
    try {
      filler.fill(nar.packOffset(), nar.length(), file);
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
