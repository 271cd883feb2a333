package dev.narvault.core.catalog;

import dev.narvault.core.pack.PackId;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Pack manifests from the catalog, parsed once (an LRU of {@code capacity}) and, when the archive
 * key is known, checked against it: the gateway, repair and audits judge holders' bytes by these
 * hashes. Thread-safe.
 */
public final class ManifestCache {
  private final Catalog catalog;
  private final Optional<TrustedKeys> archiveKeys;
  private final Map<PackId, Manifest> cache;

  public ManifestCache(Catalog catalog, Optional<TrustedKeys> archiveKeys, int capacity) {
    this.catalog = catalog;
    this.archiveKeys = archiveKeys;
    this.cache = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<PackId, Manifest> eldest) {
        return size() > capacity;
      }
    };
  }

  /** The pack's manifest; a missing, unsigned or mismatched one is a CatalogException. */
  public Manifest get(PackId packId) throws CatalogException {
    synchronized (cache) {
      Manifest m = cache.get(packId);
      if (m != null) {
        return m;
      }
    }
    byte[] signed = catalog.signedManifest(packId)
        .orElseThrow(() -> new CatalogException("catalog has pack " + packId + " but not its manifest"))
        .getBytes(StandardCharsets.UTF_8);
    Manifest manifest;
    try {
      manifest = archiveKeys.isPresent() ? ManifestCodec.verify(signed, archiveKeys.get())
          : ManifestCodec.parseSigned(signed).manifest();
    } catch (SignatureVerificationException | IllegalArgumentException e) {
      throw new CatalogException("manifest of pack " + packId + " is not trustworthy: " + e.getMessage());
    }
    if (!ManifestCodec.packId(manifest).equals(packId)) {
      throw new CatalogException("manifest stored for pack " + packId + " describes pack "
          + ManifestCodec.packId(manifest));
    }
    synchronized (cache) {
      cache.put(packId, manifest);
    }
    return manifest;
  }
}
