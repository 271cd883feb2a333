package dev.narvault.repair.rebuild;

import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.coordinator.DocumentPlacer;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.ManifestCodec;
import dev.narvault.core.sorted.SortedRecordFile;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The second step of a rebuild: goes through the listed ids in order and keeps those that are
 * signed documents of the archive. For each id it asks the holders listing it, one after another,
 * for its first bytes; one that begins like a document is read whole and kept only if its bytes
 * hash to the id (so every copy of a document is the same bytes) and the archive key signed it.
 * A manifest goes to the manifests' spill file and each of its fragments to a sorted file of
 * (fragment id, manifest number, index); an alias to the aliases' spill file.
 *
 * <p>No holder is believed about a document: an id one holder says is not a document is asked of
 * the next holder listing it, so a liar listing a document's id cannot hide it. A holder that
 * serves bytes not matching the id is lying and is not asked again; one whose reads mostly fail
 * (at least {@value #MAX_FAILED_READS}, and more than succeed) is down or listing what it does
 * not have, and is not asked again either. Its listing still counts (placements are only where to
 * look). An id no holder answered for is counted ({@link #unread}): documents among them are
 * missing from the rebuild, which can be run again.
 *
 * <p>Memory: {@code readers} ids in flight, and document bytes within {@value #DOCUMENT_BUDGET}
 * bytes at once.
 */
final class DocumentFinder {
  /** A fragment of a manifest: its id (32 bytes), the manifest's number (8), its index (4). */
  static final int FRAGMENT_RECORD = 44;
  static final int MAX_FAILED_READS = 16;
  /** Document bytes held at once, all readers together: one document as large as a read may be. */
  static final int DOCUMENT_BUDGET = HolderClient.MAX_READ;

  private final HolderClient client;
  private final TrustedKeys archiveKeys;
  private final List<HolderRecord> holders;
  private final int readers;
  private final PrintStream report;
  private final RebuildProgress progress;
  private final AtomicIntegerArray failures;
  private final AtomicIntegerArray successes;
  private final AtomicIntegerArray liars;
  private final AtomicIntegerArray givenUp;
  private final Semaphore budget = new Semaphore(DOCUMENT_BUDGET, true);
  private final AtomicLong unread = new AtomicLong();

  DocumentFinder(HolderClient client, TrustedKeys archiveKeys, List<HolderRecord> holders, int readers,
      PrintStream report, RebuildProgress progress) {
    this.client = client;
    this.archiveKeys = archiveKeys;
    this.holders = holders;
    this.readers = readers;
    this.report = report;
    this.progress = progress;
    this.failures = new AtomicIntegerArray(holders.size());
    this.successes = new AtomicIntegerArray(holders.size());
    this.liars = new AtomicIntegerArray(holders.size());
    this.givenUp = new AtomicIntegerArray(holders.size());
  }

  /** Ids listed that no holder listing them answered for. */
  long unread() {
    return unread.get();
  }

  /** Reads through the listing; what it finds goes to the spill files and {@code manifestFragments}. */
  void find(SortedRecordFile listed, DocumentSpill manifests, DocumentSpill aliases,
      SortedRecordFile.Builder manifestFragments) throws IOException {
    Semaphore slots = new Semaphore(readers);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    try (HolderListings.ListedIds ids = new HolderListings.ListedIds(listed);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
      while (failed.get() == null && ids.next()) {
        FragmentId id = ids.fragmentId();
        byte[] raw = ids.id().clone();
        int[] listers = ids.holders();
        slots.acquireUninterruptibly();
        threads.execute(() -> {
          try {
            settle(id, raw, listers, manifests, aliases, manifestFragments);
          } catch (IOException | RuntimeException | Error e) {
            failed.compareAndSet(null, e);
          } finally {
            slots.release();
          }
        });
      }
    }
    Throwable t = failed.get();
    if (t instanceof IOException e) {
      throw e;
    }
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
  }

  /** What one holder said of one id. */
  private sealed interface Answer {
    record Document(byte[] bytes) implements Answer {}

    record NotADocument() implements Answer {}

    record Failed() implements Answer {}
  }

  private void settle(FragmentId id, byte[] raw, int[] listers, DocumentSpill manifests, DocumentSpill aliases,
      SortedRecordFile.Builder manifestFragments) throws IOException {
    boolean answered = false;
    try {
      for (int h : listers) {
        if (!worthAsking(h)) {
          continue;
        }
        switch (ask(h, id)) {
          case Answer.Document d -> {
            try {
              keep(id, raw, listers, d.bytes(), manifests, aliases, manifestFragments);
            } finally {
              budget.release(d.bytes().length);
            }
            return;
          }
          case Answer.NotADocument n -> answered = true;
          case Answer.Failed f -> { }
        }
      }
      if (!answered) {
        unread.incrementAndGet();
      }
    } finally {
      progress.read(raw);
    }
  }

  private boolean worthAsking(int h) {
    if (liars.get(h) > 0 || givenUp.get(h) > 0) {
      return false;
    }
    int failed = failures.get(h);
    if (failed >= MAX_FAILED_READS && failed > successes.get(h)) {
      if (givenUp.compareAndSet(h, 0, 1)) {
        report.println("  holder " + holders.get(h).holderId() + ": " + failed + " reads failed (against "
            + successes.get(h) + " answered): not asked again; its listing still counts, unverified");
      }
      return false;
    }
    return true;
  }

  /**
   * Asks one holder: its first bytes, and when they begin like a document, its size and all of
   * it (holding {@link #budget} for the bytes, released by the caller once handled).
   */
  private Answer ask(int h, FragmentId id) {
    URI endpoint = URI.create(holders.get(h).endpoint());
    try {
      byte[] start = client.readStart(endpoint, id, ManifestCodec.DocumentKind.PREFIX_BYTES);
      if (ManifestCodec.DocumentKind.of(start) == ManifestCodec.DocumentKind.NONE) {
        successes.incrementAndGet(h);
        return new Answer.NotADocument();
      }
      long size = client.size(endpoint, id);
      if (size < ManifestCodec.DocumentKind.PREFIX_BYTES || size > DOCUMENT_BUDGET) {
        failures.incrementAndGet(h);
        return new Answer.Failed();
      }
      budget.acquireUninterruptibly((int) size);
      byte[] bytes;
      try {
        bytes = client.read(endpoint, id, 0, (int) size);
      } catch (IOException | RuntimeException e) {
        budget.release((int) size);
        throw e;
      }
      if (!DocumentPlacer.idOf(bytes).equals(id)) {
        budget.release((int) size);
        if (liars.compareAndSet(h, 0, 1)) {
          report.println("  holder " + holders.get(h).holderId() + " served bytes for " + id
              + " that are not that fragment: not asked again; its listing still counts, unverified");
        }
        return new Answer.Failed();
      }
      successes.incrementAndGet(h);
      return new Answer.Document(bytes);
    } catch (IOException e) {
      failures.incrementAndGet(h);
      return new Answer.Failed();
    }
  }

  /** A document verified against its id: kept if the archive key signed it. */
  private void keep(FragmentId id, byte[] raw, int[] listers, byte[] bytes, DocumentSpill manifests,
      DocumentSpill aliases, SortedRecordFile.Builder manifestFragments) throws IOException {
    try {
      switch (ManifestCodec.DocumentKind.of(bytes)) {
        case MANIFEST -> {
          Manifest m = ManifestCodec.verify(bytes, archiveKeys);
          // One lock for both, so that a manifest's number and its fragments' records agree.
          synchronized (manifestFragments) {
            long number = manifests.append(raw, listers, bytes);
            for (Manifest.Fragment f : m.fragments()) {
              manifestFragments.add(fragmentRecord(f.id(), number, f.index()));
            }
          }
        }
        case ALIAS -> {
          ManifestCodec.verifyAlias(bytes, archiveKeys);
          aliases.append(raw, listers, bytes);
        }
        case NONE -> {
          return;
        }
      }
      progress.document();
    } catch (SignatureVerificationException | IllegalArgumentException e) {
      report.println("  ignored document " + id + ": " + e.getMessage());
    }
  }

  static byte[] fragmentRecord(FragmentId id, long manifest, int index) {
    return ByteBuffer.allocate(FRAGMENT_RECORD).put(java.util.HexFormat.of().parseHex(id.hex())).putLong(manifest)
        .putInt(index).array();
  }
}
