package dev.narvault.repair.rebuild;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.SignedAlias;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The catalog rebuild as it was before it streamed, kept unchanged as the reference the streaming
 * {@link CatalogRebuild} must agree with: every listing in memory (a map of fragment id to
 * holders), every document's bytes too, and each id probed at its first holder only.
 */
final class InMemoryRebuild {
  private static final int PAGE = 10_000;

  /** What a rebuild found and restored. */
  public record Result(int holders, long fragmentsListed, int packs, int nars, int aliases, int packsIncomplete) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "rebuilt from %d holders (%d fragments listed): %d packs, %d NARs, %d aliases; "
          + "%d packs with fewer than k fragments found", holders, fragmentsListed, packs, nars, aliases,
          packsIncomplete);
    }
  }

  private final Catalog target;
  private final HolderClient client;
  private final TrustedKeys archiveKeys;
  private final PrintStream progress;
  private final InstantSource clock;

  InMemoryRebuild(Catalog target, HolderClient client, TrustedKeys archiveKeys, PrintStream progress,
      InstantSource clock) {
    this.target = target;
    this.client = client;
    this.archiveKeys = archiveKeys;
    this.progress = progress;
    this.clock = clock;
  }

  /** Rebuilds from these holders (as the coordinator lists them); each is registered in the target if missing. */
  public Result run(List<HolderRecord> holders) throws IOException {
    Map<String, List<HolderId>> whereIs = new HashMap<>();
    Map<String, byte[]> documents = new LinkedHashMap<>();
    Set<String> notDocuments = new HashSet<>();
    long listed = 0;
    for (HolderRecord h : holders) {
      target.registerHolder(h, 0);
      URI endpoint = URI.create(h.endpoint());
      String after = "";
      int here = 0;
      try {
        while (true) {
          HolderClient.Listing page = client.list(endpoint, after, PAGE);
          for (FragmentId id : page.fragments()) {
            whereIs.computeIfAbsent(id.hex(), x -> new ArrayList<>()).add(h.holderId());
            here++;
            if (!documents.containsKey(id.hex()) && !notDocuments.contains(id.hex())) {
              readIfDocument(endpoint, id).ifPresentOrElse(d -> documents.put(id.hex(), d),
                  () -> notDocuments.add(id.hex()));
            }
          }
          if (!page.more() || page.fragments().isEmpty()) {
            break;
          }
          after = page.fragments().getLast().hex();
        }
      } catch (IOException e) {
        progress.println("  holder " + h.holderId() + " (" + h.endpoint() + ") could not be listed fully: "
            + e.getMessage());
      }
      listed += here;
      progress.println("  holder " + h.holderId() + ": " + here + " fragments");
    }
    int packs = 0;
    int nars = 0;
    int incomplete = 0;
    List<Map.Entry<String, SignedAlias.Alias>> aliases = new ArrayList<>();
    for (Map.Entry<String, byte[]> doc : documents.entrySet()) {
      byte[] bytes = doc.getValue();
      Catalog.DocumentCopies copies = new Catalog.DocumentCopies(doc.getKey(), whereIs.get(doc.getKey()));
      try {
        switch (ManifestCodec.DocumentKind.of(bytes)) {
          case MANIFEST -> {
            Manifest m = ManifestCodec.verify(bytes, archiveKeys);
            PackId packId = ManifestCodec.packId(m);
            Map<Integer, List<HolderId>> byIndex = oneIndexPerHolder(packId, m, whereIs);
            long found = byIndex.values().stream().filter(at -> !at.isEmpty()).count();
            incomplete += found < m.dataFragmentCount() ? 1 : 0;
            // A listing only says where to look: the copies count once they pass an audit.
            target.restorePack(packId, m, new String(bytes, StandardCharsets.UTF_8), byIndex,
                FragmentState.UNVERIFIED, Optional.of(copies), clock.millis());
            packs++;
            nars += m.nars().size();
          }
          case ALIAS -> aliases.add(Map.entry(doc.getKey(), ManifestCodec.verifyAlias(bytes, archiveKeys)));
          case NONE -> { }
        }
      } catch (SignatureVerificationException | IllegalArgumentException e) {
        progress.println("  ignored document " + doc.getKey() + ": " + e.getMessage());
      }
    }
    int restoredAliases = 0;
    for (Map.Entry<String, SignedAlias.Alias> a : aliases) {
      SignedAlias.Alias alias = a.getValue();
      Optional<ArchivedNar> existing = target.narByFileKey(alias.nar().key());
      if (existing.isEmpty() || !existing.get().packId().hex().equals(alias.packId())) {
        progress.println("  alias " + a.getKey() + " names an object of a pack not found");
        continue;
      }
      byte[] bytes = documents.get(a.getKey());
      Catalog.DocumentCopies copies = new Catalog.DocumentCopies(a.getKey(), whereIs.get(a.getKey()));
      String storeHash = NarInfo.parse(alias.nar().narInfo()).storePath().hashPart();
      if (target.addAlias(storeHash, existing.get(), alias.nar().narInfo(),
          Optional.of(Map.entry(copies, new String(bytes, StandardCharsets.UTF_8))), clock.millis())) {
        restoredAliases++;
      }
    }
    return new Result(holders.size(), listed, packs, nars, restoredAliases, incomplete);
  }

  /**
   * Who holds each fragment index of a pack, by the listings, with at most one index per holder:
   * placement never gives a holder two fragments of one pack, so a holder listing several is
   * lying about all but one at best. It keeps the lowest index it alone lists (likely the one it
   * was given), else the lowest it lists; the others are reported and not recorded. A liar
   * listing every fragment id thus gains one unverified row, which its next audit settles.
   */
  Map<Integer, List<HolderId>> oneIndexPerHolder(PackId packId, Manifest m, Map<String, List<HolderId>> whereIs) {
    Map<Integer, List<HolderId>> listers = new TreeMap<>();
    Map<HolderId, TreeSet<Integer>> listed = new TreeMap<>();
    for (Manifest.Fragment f : m.fragments()) {
      List<HolderId> at = whereIs.getOrDefault(f.id().hex(), List.of()).stream().distinct().toList();
      listers.put(f.index(), at);
      for (HolderId h : at) {
        listed.computeIfAbsent(h, x -> new TreeSet<>()).add(f.index());
      }
    }
    Map<HolderId, Integer> kept = new HashMap<>();
    for (Map.Entry<HolderId, TreeSet<Integer>> e : listed.entrySet()) {
      HolderId holder = e.getKey();
      TreeSet<Integer> indexes = e.getValue();
      int keep = indexes.stream().filter(i -> listers.get(i).size() == 1).findFirst().orElse(indexes.first());
      kept.put(holder, keep);
      if (indexes.size() > 1) {
        List<Integer> ignored = indexes.stream().filter(i -> i != keep).toList();
        progress.println("  pack " + packId.shortForm() + ": holder " + holder
            + " lists " + indexes.size() + " of its fragments; recorded index " + keep + " only, ignored "
            + ignored);
      }
    }
    Map<Integer, List<HolderId>> byIndex = new HashMap<>();
    listers.forEach((index, at) -> byIndex.put(index,
        at.stream().filter(h -> kept.get(h) == index.intValue()).toList()));
    return byIndex;
  }

  /** The fragment's bytes if it begins like a signed document (and is small enough to be one). */
  private Optional<byte[]> readIfDocument(URI endpoint, FragmentId id) {
    try {
      byte[] start = client.read(endpoint, id, 0, ManifestCodec.DocumentKind.PREFIX_BYTES);
      if (ManifestCodec.DocumentKind.of(start) == ManifestCodec.DocumentKind.NONE) {
        return Optional.empty();
      }
      long size = client.size(endpoint, id);
      if (size < 1 || size > HolderClient.MAX_READ) {
        return Optional.empty();
      }
      byte[] bytes = client.read(endpoint, id, 0, (int) size);
      // Stored under its own id, or not a document of ours.
      return DocumentPlacer.idOf(bytes).equals(id) ? Optional.of(bytes) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
