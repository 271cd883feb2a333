package dev.narvault.repair.rebuild;

import dev.narvault.core.catalog.PackRecords;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The packs {@code forget}'s rewrites touched, as a catalog rebuild finds them: packs a found
 * manifest says it replaces ({@link Manifest#replacedPack}), and those replacing manifests. A
 * manifest on the holders proves only that a rewrite placed it, not that the rewrite committed (one
 * refused or killed before its commit leaves its copies until garbage collection finds them), and
 * a pack's tombstones or alias documents may be missing. So nothing is decided from the manifests
 * alone: these packs are held back until the others are restored, then restored live one by one,
 * those found whole (at least k fragment indexes listed) first and, among them, the newest
 * rewrite first ({@link #inOrder}), each path whose object an earlier one holds indexed on that
 * one ({@link PackRecords#restoreSharingObjects}): an object several of them hold is read from a
 * whole pack whenever one holds it. Once aliases and
 * tombstones are restored too, a held-back pack left without a live path is retired (its copies
 * garbage after the grace): every path it lists is then forgotten or served by another pack.
 *
 * <p>Held in memory until then: one entry per pack a rewrite touched, and rewrites are
 * takedowns, few beside the packs.
 */
final class RewrittenPacks {
  /** A pack held back: as it would be restored, and how many of its fragment indexes were listed. */
  private record Held(PackRecords.Restored pack, long found) {
    boolean whole() {
      return found >= pack.manifest().dataFragmentCount();
    }
  }

  /** Each replaced pack's replacements (usually one; more when a rewrite was tried again). */
  private final Map<PackId, List<PackId>> replacements;
  private final Set<PackId> replacing = new HashSet<>();
  private final Map<PackId, Held> held = new LinkedHashMap<>();

  private RewrittenPacks(Map<PackId, List<PackId>> replacements) {
    this.replacements = replacements;
    replacements.values().forEach(replacing::addAll);
  }

  /** Reads every found manifest once for the packs it replaces. */
  static RewrittenPacks scan(DocumentSpill manifests) throws IOException {
    Map<PackId, List<PackId>> replacements = new HashMap<>();
    try (DocumentSpill.Reader documents = manifests.read()) {
      DocumentSpill.Entry doc;
      while ((doc = documents.next()) != null) {
        Manifest m = ManifestCodec.parseSigned(doc.bytes()).manifest();
        if (m.replacedPack().isPresent()) {
          replacements.computeIfAbsent(m.replacedPack().get(), x -> new ArrayList<>()).add(ManifestCodec.packId(m));
        }
      }
    }
    return new RewrittenPacks(replacements);
  }

  boolean isEmpty() {
    return replacements.isEmpty();
  }

  /** How many manifests name a pack they replace. */
  int replacingManifests() {
    return replacing.size();
  }

  /** Whether {@code packId} is held back: replaced, or replacing another. */
  boolean holdsBack(PackId packId) {
    return replacements.containsKey(packId) || replacing.contains(packId);
  }

  void holdBack(PackRecords.Restored pack, long fragmentIndexesFound) {
    held.put(pack.packId(), new Held(pack, fragmentIndexesFound));
  }

  /** The held-back packs found, in the order to restore them: whole first, then newest rewrite first. */
  List<PackRecords.Restored> inOrder() {
    Map<PackId, Integer> depths = new HashMap<>();
    List<Held> all = new ArrayList<>(held.values());
    all.sort(Comparator.comparing((Held h) -> !h.whole())
        .thenComparing(h -> -depth(h.pack().packId(), depths, 0))
        .thenComparing(h -> h.pack().packId()));
    return all.stream().map(Held::pack).toList();
  }

  /** Whether the held-back pack {@code packId} was found with at least k fragment indexes listed. */
  boolean whole(PackId packId) {
    Held h = held.get(packId);
    return h != null && h.whole();
  }

  /** The held-back packs found. */
  Set<PackId> found() {
    return held.keySet();
  }

  /** A pack found that replaces {@code packId}, if any: what a retired pack is retired by. */
  Optional<PackId> replacedBy(PackId packId) {
    return replacements.getOrDefault(packId, List.of()).stream().filter(held::containsKey).findFirst();
  }

  /** How many rewrites deep a pack is (0: it replaces no pack found); cycles are cut at the pack count. */
  private int depth(PackId packId, Map<PackId, Integer> memo, int guard) {
    Integer known = memo.get(packId);
    if (known != null) {
      return known;
    }
    Held h = held.get(packId);
    int result = 0;
    if (h != null && guard < held.size()) {
      Optional<PackId> replaced = h.pack().manifest().replacedPack();
      if (replaced.isPresent() && held.containsKey(replaced.get())) {
        result = 1 + depth(replaced.get(), memo, guard + 1);
      }
    }
    memo.put(packId, result);
    return result;
  }
}
