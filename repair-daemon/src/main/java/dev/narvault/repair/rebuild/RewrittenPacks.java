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
import java.util.Set;

/**
 * The packs {@code forget}'s rewrites touched, as a catalog rebuild finds them: packs a found
 * manifest says it replaces ({@link Manifest#replacedPack}), and those replacing manifests. A
 * manifest on the holders proves only that a rewrite placed it, not that the rewrite committed: one
 * refused (an alias added meanwhile, a read-back that did not verify) or killed before its commit
 * leaves its copies until garbage collection finds them. So a replaced pack is restored retired only
 * when one of its replacements was found whole enough to read (at least k fragments listed) and
 * lists every path of the old pack that is live (its manifest's and its alias documents' store
 * paths, less those a tombstone forgets); otherwise it is restored as a live pack, and its
 * replacements either retired in its favour (when it was found whole) or restored after it, so
 * that the paths both list stay on it ({@link #decide}).
 *
 * <p>All of these are held in memory until the other packs are restored: one entry per rewrite,
 * and rewrites are takedowns, few beside the packs.
 */
final class RewrittenPacks {
  /** A pack held back: as it would be restored, and how many of its fragment indexes were listed. */
  private record Deferred(PackRecords.Restored pack, long found) {}

  /** Each replaced pack's replacements (usually one; more when a rewrite was tried again). */
  private final Map<PackId, List<PackId>> replacements;
  private final Set<PackId> replacing;
  private final Map<PackId, Deferred> deferred = new LinkedHashMap<>();

  private RewrittenPacks(Map<PackId, List<PackId>> replacements) {
    this.replacements = replacements;
    this.replacing = new HashSet<>();
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

  /** The packs found manifests say were replaced. */
  Set<PackId> replaced() {
    return replacements.keySet();
  }

  /** Whether {@code packId} is held back until {@link #decide}: replaced, or replacing another. */
  boolean holdsBack(PackId packId) {
    return replacements.containsKey(packId) || replacing.contains(packId);
  }

  void holdBack(PackRecords.Restored pack, long fragmentIndexesFound) {
    deferred.put(pack.packId(), new Deferred(pack, fragmentIndexesFound));
  }

  /**
   * Which held-back packs are retired, and in favour of which pack. A replaced pack is retired by
   * a replacement found with at least k fragment indexes listed that lists every live path of the
   * old pack. A replaced pack that stays live and was found whole (at least k indexes) has
   * everything its replacements hold: they are rewrites that did not commit, retired in its
   * favour (garbage collection takes them after the grace, as the lost catalog would have).
   *
   * @param forgotten the store paths trusted tombstones forget
   * @param aliasPaths the store paths of the alias documents naming each replaced pack
   */
  Map<PackId, PackId> decide(Set<String> forgotten, Map<PackId, Set<String>> aliasPaths) {
    Map<PackId, PackId> retiredBy = new HashMap<>();
    Set<PackId> chosen = new HashSet<>();
    for (Map.Entry<PackId, List<PackId>> e : replacements.entrySet()) {
      Deferred old = deferred.get(e.getKey());
      if (old == null) {
        // Not found: its copies are gone; nothing to restore.
        continue;
      }
      Set<String> live = new HashSet<>(storeHashes(old.pack().manifest()));
      live.addAll(aliasPaths.getOrDefault(e.getKey(), Set.of()));
      live.removeAll(forgotten);
      e.getValue().stream()
          .map(deferred::get)
          .filter(n -> n != null && whole(n) && storeHashes(n.pack().manifest()).containsAll(live))
          .max(Comparator.comparingLong(Deferred::found))
          .ifPresent(n -> {
            retiredBy.put(e.getKey(), n.pack().packId());
            chosen.add(n.pack().packId());
          });
    }
    for (Map.Entry<PackId, List<PackId>> e : replacements.entrySet()) {
      Deferred old = deferred.get(e.getKey());
      if (old == null || retiredBy.containsKey(e.getKey()) || !whole(old)) {
        continue;
      }
      for (PackId n : e.getValue()) {
        if (deferred.containsKey(n) && !chosen.contains(n) && !retiredBy.containsKey(n)) {
          retiredBy.put(n, e.getKey());
        }
      }
    }
    return retiredBy;
  }

  private static boolean whole(Deferred d) {
    return d.found() >= d.pack().manifest().dataFragmentCount();
  }

  /**
   * The held-back packs restored live, in an order where a pack comes before the packs that
   * replace it (so that a path both list stays on the older, when the older is live).
   */
  List<PackRecords.Restored> live(Map<PackId, PackId> retiredBy) {
    Map<PackId, Integer> depth = new HashMap<>();
    List<Deferred> live = new ArrayList<>();
    for (Deferred d : deferred.values()) {
      if (!retiredBy.containsKey(d.pack().packId())) {
        live.add(d);
      }
    }
    live.sort(Comparator.comparingInt(d -> depth(d.pack().packId(), depth, 0)));
    return live.stream().map(Deferred::pack).toList();
  }

  /** The held-back packs {@link #decide} retired. */
  List<PackRecords.Restored> retired(Map<PackId, PackId> retiredBy) {
    return deferred.values().stream().map(Deferred::pack).filter(p -> retiredBy.containsKey(p.packId())).toList();
  }

  /** How many replacements deep a pack is: 0 when it replaces no pack found. Bounded by the packs held back. */
  private int depth(PackId packId, Map<PackId, Integer> memo, int guard) {
    Integer known = memo.get(packId);
    if (known != null) {
      return known;
    }
    Deferred d = deferred.get(packId);
    int result = 0;
    if (d != null && guard < deferred.size()) {
      var replaced = d.pack().manifest().replacedPack();
      if (replaced.isPresent() && deferred.containsKey(replaced.get())) {
        result = 1 + depth(replaced.get(), memo, guard + 1);
      }
    }
    memo.put(packId, result);
    return result;
  }

  private static Set<String> storeHashes(Manifest m) {
    Set<String> hashes = new HashSet<>();
    for (Manifest.Nar n : m.nars()) {
      hashes.add(n.parsedNarInfo().storePath().hashPart());
    }
    return hashes;
  }
}
