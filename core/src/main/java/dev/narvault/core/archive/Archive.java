package dev.narvault.core.archive;

import dev.narvault.core.catalog.ArchivedNar;
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
import dev.narvault.core.pack.PackReader;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * The archive as the gateway sees it: catalog lookups and verified NAR reads from holders.
 * Manifests are parsed once and kept in a small LRU; with an archive public key configured, each
 * manifest's signature is checked when it is loaded.
 */
public final class Archive {
  private static final int MANIFEST_CACHE = 1024;
  /** A holder that has not answered a range in this long is read around while it keeps trying. */
  private static final Duration HEDGE_AFTER = Duration.ofSeconds(2);

  private final Catalog catalog;
  private final HolderClient holders;
  /** One codec per code, shared by all requests: it caches the decode matrices of erasure patterns. */
  private final ConcurrentHashMap<String, Codec> codecs = new ConcurrentHashMap<>();
  /** Degraded reads ask k holders at once; each read blocks on the network, so virtual threads. */
  private final Executor parallelReads = Executors.newVirtualThreadPerTaskExecutor();
  private final ManifestCache manifests;

  public Archive(Catalog catalog, HolderClient holders, Optional<TrustedKeys> archiveKeys) {
    this.catalog = catalog;
    this.holders = holders;
    this.manifests = new ManifestCache(catalog, archiveKeys, MANIFEST_CACHE);
  }

  public Optional<ArchivedNar> narInfo(String storeHash) throws CatalogException {
    return catalog.narByStoreHash(storeHash);
  }

  public Optional<ArchivedNar> nar(String fileKey) throws CatalogException {
    return catalog.narByFileKey(fileKey);
  }

  /**
   * Writes NAR bytes {@code [from, from + length)} to {@code out}, every byte verified. Throws
   * before writing anything when the pack cannot be read at all.
   *
   * @return how many fragments had to be read around (unreachable or corrupt)
   */
  public int read(ArchivedNar nar, long from, long length, OutputStream out) throws IOException {
    if (from < 0 || length < 0 || from + length > nar.length()) {
      throw new IllegalArgumentException("range " + from + "+" + length + " outside NAR of " + nar.length());
    }
    Manifest manifest = manifest(nar.packId());
    List<FragmentPlacement> placements = catalog.placements(nar.packId());
    FragmentReader reader = (index, offset, len) -> readFragment(manifest, placements, index, offset, len);
    Codec codec = codecs.computeIfAbsent(manifest.dataFragmentCount() + "+" + manifest.parityFragmentCount(),
        code -> Codecs.create(manifest.dataFragmentCount(), manifest.parityFragmentCount()));
    PackReader packReader = new PackReader(manifest, codec, reader,
        PackReader.Options.DEFAULTS.withExecutor(parallelReads, HEDGE_AFTER));
    packReader.read(nar.packOffset() + from, length, out);
    return packReader.failedFragments().cardinality();
  }

  private byte[] readFragment(Manifest manifest, List<FragmentPlacement> placements, int index, long offset,
      int length) throws IOException {
    FragmentId id = manifest.fragments().get(index).id();
    IOException last = null;
    // Copies the catalog counts as stored first; then any other copy a holder may still have
    // (superseded by repair, not yet deleted): every byte is verified either way.
    for (boolean stored : new boolean[] {true, false}) {
      for (FragmentPlacement p : placements) {
        if (p.stored() != stored || p.fragmentIndex() != index || !p.fragmentId().equals(id.hex())) {
          continue;
        }
        try {
          return holders.read(URI.create(p.endpoint()), id, offset, length);
        } catch (IOException e) {
          last = e;
        }
      }
    }
    throw last != null ? last : new IOException("no holder has fragment " + index + " (" + id + ")");
  }

  private Manifest manifest(String packId) throws IOException {
    return manifests.get(packId);
  }
}
