package dev.narvault.repair.rebuild;

import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.Forgotten;
import dev.narvault.core.catalog.FragmentState;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.catalog.PackRecords;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.pack.PackId;
import dev.narvault.core.pack.SignedAlias;
import dev.narvault.core.pack.SignedTombstone;
import dev.narvault.core.sorted.SortedRecordFile;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Rebuilds the catalog from what the holders hold. Every holder lists its fragments; those that
 * begin like a signed document are read whole and kept if the archive key signed them. Each
 * manifest restores its pack, its NARs and, from the listings, where its fragments are; each alias
 * document restores one more store path naming an archived object; each tombstone a forgotten path. Holders are untrusted: a
 * document counts only with a valid signature, and a listing only says where to look (every byte
 * read later is verified against the manifest): restored fragment rows are
 * {@link FragmentState#UNVERIFIED} until an audit passes, and a holder gets at most one row per
 * pack however many of its fragments it lists.
 *
 * <p>It streams, in five steps, with memory bounded by the number of holders, never by the
 * number of packs, fragments or listed ids; what grows with the archive goes to files in the work
 * directory:
 * <ol>
 *   <li>{@link HolderListings}: every holder's listing, paged, into one file of (fragment id,
 *       holder) sorted by id;
 *   <li>{@link DocumentFinder}: the ids in order, each asked of the holders listing it until one
 *       shows it is a document or none can; manifests and aliases to spill files in the order
 *       found, and every manifest's fragments to a file of (fragment id, manifest, index) sorted
 *       by id;
 *   <li>a merge join of the two sorted files: (manifest, index, holder) for every listed fragment
 *       of every manifest, sorted by manifest;
 *   <li>the manifests read back in order beside those records: each pack restored with where its
 *       fragments are, one pack at a time; the packs {@code forget}'s rewrites touched (a found
 *       manifest says it replaces another, {@link Manifest#replacedPack}) last, in the order
 *       {@link RewrittenPacks} says;
 *   <li>the aliases read back and restored (their objects' packs are in the catalog by then), and
 *       the tombstones: each path a trusted archive key signed a tombstone for stays forgotten;
 *       then a pack a rewrite touched that serves no live path is retired.
 * </ol>
 * Running it again on the same catalog restores nothing twice.
 */
public final class CatalogRebuild {
  /** A placement found: the manifest's number (8 bytes), the fragment index (4), the holder (4). */
  static final int PLACEMENT_RECORD = 16;
  static final int BATCH_PACKS = 256;
  static final int BATCH_BYTES = 1 << 20;

  /**
   * How a rebuild runs.
   *
   * @param workDir where the sorted listings and found documents go while it runs (a directory of
   *     its own is made inside, and deleted at the end): about 36 bytes per listed fragment, twice
   *     while merging, plus the documents
   * @param readers ids asked about at once (and a quarter as many holders listed at once)
   * @param sortMemoryBytes records sorted in memory at once before they go to disk
   * @param maxListedPerHolder the most ids taken from one holder's listing
   * @param pageSize ids asked for per listing page (at most 10 000, the holders' maximum)
   */
  public record Options(Path workDir, int readers, long sortMemoryBytes, long maxListedPerHolder, int pageSize) {
    public static final int MAX_PAGE = 10_000;

    public Options {
      if (workDir == null) {
        throw new IllegalArgumentException("a work directory is required");
      }
      if (readers < 1 || readers > 1024) {
        throw new IllegalArgumentException("readers must be 1 to 1024, got " + readers);
      }
      if (sortMemoryBytes < 1 << 20) {
        throw new IllegalArgumentException("sort memory must be at least 1 MiB, got " + sortMemoryBytes);
      }
      if (maxListedPerHolder < 1) {
        throw new IllegalArgumentException("the most ids listed per holder must be >= 1, got " + maxListedPerHolder);
      }
      if (pageSize < 1 || pageSize > MAX_PAGE) {
        throw new IllegalArgumentException("page size must be 1 to " + MAX_PAGE + ", got " + pageSize);
      }
    }

    /** 16 readers, 32 MiB of sorting, at most 20 million ids per holder, full pages. */
    public static Options defaults(Path workDir) {
      return new Options(workDir, 16, 32L << 20, 20_000_000, MAX_PAGE);
    }

    public Options withReaders(int n) {
      return new Options(workDir, n, sortMemoryBytes, maxListedPerHolder, pageSize);
    }

    public Options withSortMemory(long bytes) {
      return new Options(workDir, readers, bytes, maxListedPerHolder, pageSize);
    }

    public Options withMaxListedPerHolder(long n) {
      return new Options(workDir, readers, sortMemoryBytes, n, pageSize);
    }

    public Options withPageSize(int n) {
      return new Options(workDir, readers, sortMemoryBytes, maxListedPerHolder, n);
    }
  }

  /**
   * What a rebuild found and restored.
   *
   * @param fragmentsListed ids taken from the listings, all holders together
   * @param idsUnread ids no holder listing them answered for: documents among them were not found
   */
  public record Result(int holders, long fragmentsListed, int packs, int nars, int aliases, int forgotten,
      int packsIncomplete, long idsUnread) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "rebuilt from %d holders (%d fragments listed): %d packs, %d NARs, %d aliases, "
          + "%d forgotten; %d packs with fewer than k fragments found", holders, fragmentsListed, packs, nars, aliases,
          forgotten, packsIncomplete) + (idsUnread == 0 ? "" : String.format(Locale.ROOT, "; %d listed ids could not be read "
          + "from any holder listing them (documents among them are missing: run the rebuild again when those "
          + "holders answer)", idsUnread));
    }
  }

  private final Catalog target;
  private final HolderClient client;
  private final TrustedKeys archiveKeys;
  private final PrintStream report;
  private final PrintStream progressOut;
  private final InstantSource clock;
  private final Options options;

  /**
   * @param report what is found along the way (each holder's count, documents ignored, liars)
   * @param progress where the {@code progress:} line goes every few seconds
   */
  public CatalogRebuild(Catalog target, HolderClient client, TrustedKeys archiveKeys, PrintStream report,
      PrintStream progress, InstantSource clock, Options options) {
    this.target = target;
    this.client = client;
    this.archiveKeys = archiveKeys;
    this.report = report;
    this.progressOut = progress;
    this.clock = clock;
    this.options = options;
  }

  /** Rebuilds from these holders (as the coordinator lists them); each is registered in the target if missing. */
  public Result run(List<HolderRecord> holders) throws IOException {
    for (HolderRecord h : holders) {
      target.registerHolder(h, 0);
    }
    List<HolderId> holderIds = holders.stream().map(HolderRecord::holderId).toList();
    RebuildProgress progress = new RebuildProgress(progressOut, clock, holders.size());
    Files.createDirectories(options.workDir());
    Path work = Files.createTempDirectory(options.workDir(), "rebuild-");
    try (DocumentSpill manifests = new DocumentSpill(work.resolve("manifests"));
        DocumentSpill aliases = new DocumentSpill(work.resolve("aliases"));
        DocumentSpill tombstones = new DocumentSpill(work.resolve("tombstones"))) {
      DocumentFinder finder = new DocumentFinder(client, archiveKeys, holders, options.readers(), report, progress);
      SortedRecordFile placements;
      try (SortedRecordFile listed = HolderListings.list(holders, client, options, work, report, progress)) {
        report.printf(Locale.ROOT, "listed %,d fragments on %d holders in %.1f s%n", progress.fragmentsListed(),
            holders.size(), progress.step(RebuildProgress.Step.READING));
        SortedRecordFile.Builder found = SortedRecordFile.builder(work, DocumentFinder.FRAGMENT_RECORD,
            DocumentFinder.FRAGMENT_RECORD, options.sortMemoryBytes());
        SortedRecordFile fragmentsOfManifests;
        try {
          finder.find(listed, manifests, aliases, tombstones, found);
          fragmentsOfManifests = found.finish();
        } catch (IOException | RuntimeException e) {
          found.close();
          throw e;
        }
        report.printf(Locale.ROOT, "read %,d ids: %,d manifests, %,d aliases in %.1f s%n", progress.idsRead(),
            manifests.count(), aliases.count(), progress.step(RebuildProgress.Step.MATCHING));
        try (fragmentsOfManifests) {
          placements = join(listed, fragmentsOfManifests, work);
        }
      }
      int[] restored;
      RewrittenPacks rewritten = RewrittenPacks.scan(manifests);
      try (placements) {
        report.printf(Locale.ROOT, "matched %,d listed copies to their packs in %.1f s%n", placements.count(),
            progress.step(RebuildProgress.Step.RESTORING));
        restored = restorePacks(manifests, placements, holderIds, rewritten, progress);
      }
      report.printf(Locale.ROOT, "restored %,d packs in %.1f s%n", restored[0],
          progress.step(RebuildProgress.Step.ALIASES));
      int restoredAliases = restoreAliases(aliases, holderIds, progress);
      int forgotten = restoreTombstones(tombstones, holderIds);
      int rewrittenIncomplete = retireRewritten(rewritten);
      report.printf(Locale.ROOT, "restored %,d aliases and %,d tombstones in %.1f s%n", restoredAliases, forgotten,
          progress.step(RebuildProgress.Step.ALIASES));
      return new Result(holders.size(), progress.fragmentsListed(), restored[0], restored[1], restoredAliases,
          forgotten, restored[2] + rewrittenIncomplete, finder.unread());
    } finally {
      deleteTree(work);
    }
  }

  /**
   * Every listed copy of every manifest's fragments: (manifest, index, holder), sorted by
   * manifest. Both inputs are sorted by fragment id, so one pass over each does.
   */
  private SortedRecordFile join(SortedRecordFile listed, SortedRecordFile fragmentsOfManifests, Path work)
      throws IOException {
    SortedRecordFile.Builder out = SortedRecordFile.builder(work, PLACEMENT_RECORD, PLACEMENT_RECORD,
        options.sortMemoryBytes());
    try (out; HolderListings.ListedIds ids = new HolderListings.ListedIds(listed);
        SortedRecordFile.Records fragments = fragmentsOfManifests.records()) {
      byte[] fragment = new byte[DocumentFinder.FRAGMENT_RECORD];
      boolean more = ids.next();
      int[] listers = more ? ids.holders() : new int[0];
      while (fragments.next(fragment)) {
        while (more && Arrays.compareUnsigned(ids.id(), 0, 32, fragment, 0, 32) < 0) {
          more = ids.next();
          listers = more ? ids.holders() : listers;
        }
        if (!more || !Arrays.equals(ids.id(), 0, 32, fragment, 0, 32)) {
          continue;
        }
        ByteBuffer f = ByteBuffer.wrap(fragment, 32, 12);
        long manifest = f.getLong();
        int index = f.getInt();
        for (int holder : listers) {
          out.add(ByteBuffer.allocate(PLACEMENT_RECORD).putLong(manifest).putInt(index).putInt(holder).array());
        }
      }
      return out.finish();
    }
  }

  /**
   * Each manifest in order, with its placements, restored in batches of at most
   * {@value #BATCH_PACKS} packs and {@value #BATCH_BYTES} bytes of manifests (one transaction
   * each): returns packs, NARs and packs short of k. The packs rewrites touched are held back and
   * restored last, as {@link RewrittenPacks} decides.
   */
  private int[] restorePacks(DocumentSpill manifests, SortedRecordFile placements, List<HolderId> holderIds,
      RewrittenPacks rewritten, RebuildProgress progress) throws IOException {
    int packs = 0;
    int nars = 0;
    int incomplete = 0;
    List<PackRecords.Restored> batch = new ArrayList<>();
    long batchBytes = 0;
    try (DocumentSpill.Reader documents = manifests.read();
        SortedRecordFile.Records records = placements.records()) {
      byte[] record = new byte[PLACEMENT_RECORD];
      boolean more = records.next(record);
      DocumentSpill.Entry doc;
      while ((doc = documents.next()) != null) {
        // Who lists each index's fragment, in the order of holders, each once.
        Map<Integer, List<HolderId>> listers = new TreeMap<>();
        while (more && ByteBuffer.wrap(record).getLong() == doc.number()) {
          ByteBuffer r = ByteBuffer.wrap(record, 8, 8);
          int index = r.getInt();
          listers.computeIfAbsent(index, x -> new ArrayList<>()).add(holderIds.get(r.getInt()));
          more = records.next(record);
        }
        Manifest m = ManifestCodec.parseSigned(doc.bytes()).manifest();
        PackId packId = ManifestCodec.packId(m);
        Map<Integer, List<HolderId>> byIndex = oneIndexPerHolder(packId, m, listers);
        PackRecords.Restored pack = new PackRecords.Restored(packId, m, new String(doc.bytes(), StandardCharsets.UTF_8),
            byIndex, Optional.of(copies(doc, holderIds)));
        long found = byIndex.values().stream().filter(at -> !at.isEmpty()).count();
        if (rewritten.holdsBack(packId)) {
          rewritten.holdBack(pack, found);
          continue;
        }
        incomplete += found < m.dataFragmentCount() ? 1 : 0;
        batch.add(pack);
        batchBytes += doc.bytes().length;
        packs++;
        nars += m.nars().size();
        if (batch.size() == BATCH_PACKS || batchBytes >= BATCH_BYTES) {
          restore(batch, progress);
          batchBytes = 0;
        }
      }
      restore(batch, progress);
    }
    // The packs rewrites touched, one at a time in RewrittenPacks' order: a path several list
    // stays on the first, whole ones first. Which of them to retire is known once aliases and
    // tombstones are in too (retireRewritten).
    for (PackRecords.Restored pack : rewritten.inOrder()) {
      // Counted short of k by retireRewritten, if it still serves a path then.
      packs++;
      nars += pack.manifest().nars().size();
      // An object a pack restored before holds (a whole one, or a newer rewrite) is indexed there.
      target.packs().restoreSharingObjects(pack, FragmentState.UNVERIFIED, clock.millis());
      progress.pack();
    }
    return new int[] {packs, nars, incomplete};
  }

  /**
   * Retires each pack a rewrite touched that was left without a live path (every path it lists
   * is forgotten or on another pack), as {@link RewrittenPacks} says: its copies become garbage.
   * Returns how many of those that still serve paths were found short of k fragments.
   */
  private int retireRewritten(RewrittenPacks rewritten) throws IOException {
    if (rewritten.isEmpty()) {
      return 0;
    }
    int retired = 0;
    int incomplete = 0;
    for (PackId packId : rewritten.found()) {
      if (target.packs().retireWithoutLivePaths(packId, rewritten.replacedBy(packId), clock.millis())) {
        retired++;
      } else if (!rewritten.whole(packId)) {
        incomplete++;
      }
    }
    report.printf(Locale.ROOT, "%,d manifests name a pack they replaced (forget's rewrites); of the %,d packs "
        + "rewrites touched that were found, %,d were left without a live path and are retired, %,d serve paths%n",
        rewritten.replacingManifests(), rewritten.found().size(), retired, rewritten.found().size() - retired);
    return incomplete;
  }

  private void restore(List<PackRecords.Restored> batch, RebuildProgress progress) throws IOException {
    if (batch.isEmpty()) {
      return;
    }
    // A listing only says where to look: the copies count once they pass an audit.
    target.restorePacks(batch, FragmentState.UNVERIFIED, clock.millis());
    for (int i = 0; i < batch.size(); i++) {
      progress.pack();
    }
    batch.clear();
  }

  private int restoreAliases(DocumentSpill aliases, List<HolderId> holderIds, RebuildProgress progress)
      throws IOException {
    int restored = 0;
    try (DocumentSpill.Reader documents = aliases.read()) {
      DocumentSpill.Entry doc;
      while ((doc = documents.next()) != null) {
        SignedAlias.Alias alias;
        try {
          alias = ManifestCodec.verifyAlias(doc.bytes(), archiveKeys);
        } catch (SignatureVerificationException e) {
          throw new IllegalStateException("an alias verified when found no longer does: " + doc.id(), e);
        }
        // The object where the catalog has it now: on the pack the alias names, or on the pack a
        // rewrite moved it to (the alias's narinfo names the object, not its place).
        Optional<ArchivedNar> existing = target.narByFileKey(alias.nar().key());
        if (existing.isEmpty() || !existing.get().fileHash().equals(alias.nar().fileHash())
            || existing.get().length() != alias.nar().length()) {
          report.println("  alias " + doc.id() + " names an object of a pack not found");
          continue;
        }
        if (target.forgotten().isForgottenObject(alias.nar().key())) {
          // Taken down already (a rebuild run again): its paths stay forgotten, none is added.
          continue;
        }
        String storeHash = NarInfo.parse(alias.nar().narInfo()).storePath().hashPart();
        if (target.addAlias(storeHash, existing.get(), alias.nar().narInfo(),
            Optional.of(Map.entry(copies(doc, holderIds), new String(doc.bytes(), StandardCharsets.UTF_8))),
            clock.millis())) {
          restored++;
          progress.alias();
        }
      }
    }
    return restored;
  }

  /**
   * The tombstones read back and recorded: each path stays forgotten. Its S3 objects are recorded
   * as still to delete (this catalog cannot know they went): the next {@code narvault forget}
   * deletes them if they are there.
   */
  private int restoreTombstones(DocumentSpill tombstones, List<HolderId> holderIds) throws IOException {
    int restored = 0;
    try (DocumentSpill.Reader documents = tombstones.read()) {
      DocumentSpill.Entry doc;
      while ((doc = documents.next()) != null) {
        SignedTombstone.Tombstone tombstone;
        try {
          tombstone = ManifestCodec.verifyTombstone(doc.bytes(), archiveKeys);
        } catch (SignatureVerificationException e) {
          throw new IllegalStateException("a tombstone verified when found no longer does: " + doc.id(), e);
        }
        if (target.forgotten().record(tombstone, copies(doc, holderIds),
            new String(doc.bytes(), StandardCharsets.UTF_8), Forgotten.S3Objects.PENDING)) {
          restored++;
        }
      }
    }
    return restored;
  }

  /** A document's copies: the holders that list it. */
  private static Catalog.DocumentCopies copies(DocumentSpill.Entry doc, List<HolderId> holderIds) {
    return new Catalog.DocumentCopies(doc.id().hex(),
        Arrays.stream(doc.holders()).mapToObj(holderIds::get).toList());
  }

  /**
   * Who holds each fragment index of a pack, by the listings, with at most one index per holder:
   * placement never gives a holder two fragments of one pack, so a holder listing several is
   * lying about all but one at best. It keeps the lowest index it alone lists (likely the one it
   * was given), else the lowest it lists; the others are reported and not recorded. A liar
   * listing every fragment id thus gains one unverified row, which its next audit settles.
   *
   * @param listers the holders listing each index's fragment id (indexes nobody lists may be absent)
   */
  Map<Integer, List<HolderId>> oneIndexPerHolder(PackId packId, Manifest m, Map<Integer, List<HolderId>> listers) {
    Map<HolderId, TreeSet<Integer>> listed = new TreeMap<>();
    Map<Integer, List<HolderId>> at = new TreeMap<>();
    for (Manifest.Fragment f : m.fragments()) {
      List<HolderId> here = listers.getOrDefault(f.index(), List.of()).stream().distinct().toList();
      at.put(f.index(), here);
      for (HolderId h : here) {
        listed.computeIfAbsent(h, x -> new TreeSet<>()).add(f.index());
      }
    }
    Map<HolderId, Integer> kept = new HashMap<>();
    for (Map.Entry<HolderId, TreeSet<Integer>> e : listed.entrySet()) {
      HolderId holder = e.getKey();
      TreeSet<Integer> indexes = e.getValue();
      int keep = indexes.stream().filter(i -> at.get(i).size() == 1).findFirst().orElse(indexes.first());
      kept.put(holder, keep);
      if (indexes.size() > 1) {
        List<Integer> ignored = indexes.stream().filter(i -> i != keep).toList();
        report.println("  pack " + packId.shortForm() + ": holder " + holder
            + " lists " + indexes.size() + " of its fragments; recorded index " + keep + " only, ignored "
            + ignored);
      }
    }
    Map<Integer, List<HolderId>> byIndex = new HashMap<>();
    at.forEach((index, here) -> byIndex.put(index,
        here.stream().filter(h -> kept.get(h) == index.intValue()).toList()));
    return byIndex;
  }

  /** The task's result; its failure as the IOException or unchecked exception it was. */
  static void await(Future<?> f) throws IOException {
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      switch (e.getCause()) {
        case IOException io -> throw io;
        case RuntimeException r -> throw r;
        case Error err -> throw err;
        default -> throw new IOException(e.getCause());
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(Collections.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
