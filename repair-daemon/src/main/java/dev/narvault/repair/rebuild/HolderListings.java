package dev.narvault.repair.rebuild;

import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderClient;
import dev.narvault.core.pack.FragmentId;
import dev.narvault.core.sorted.SortedRecordFile;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;

/**
 * The first step of a rebuild: every holder's listing, page by page, into one file on disk of
 * (fragment id, holder) records sorted by fragment id, so that the holders listing an id come
 * together however many holders and fragments there are ({@link ListedIds} reads them back an id
 * at a time).
 *
 * <p>A listing is the holder's word and nothing more. Each holder's ids must come in increasing
 * order after the cursor: ids at or before the last one taken (a page repeated, a holder ignoring
 * the cursor, an id listed twice) are dropped, and a page that brings nothing new ends the
 * holder's listing, so no holder can make the rebuild loop or count an id twice. A holder listing
 * more than {@code maxListedPerHolder} ids is cut off there (and reported): the work files grow
 * with what is listed, and no honest holder lists that many.
 */
final class HolderListings {
  /** Fragment id (32 bytes), then the holder's number in the rebuild's list (4 bytes, big-endian). */
  static final int RECORD = 36;

  private HolderListings() {}

  /**
   * Lists every holder, a quarter of {@code readers} at a time (a page of 10 000 ids takes about
   * 3 MB of heap while it is parsed and sorted in; pages come fast, so few listings at once keep
   * up); returns the records sorted by fragment id (in {@code work}, deleted when closed). A
   * holder that cannot be listed to the end keeps what it listed so far.
   */
  static SortedRecordFile list(List<HolderRecord> holders, HolderClient client, CatalogRebuild.Options options,
      Path work, PrintStream report, RebuildProgress progress) throws IOException {
    SortedRecordFile.Builder builder = SortedRecordFile.builder(work, RECORD, RECORD, options.sortMemoryBytes());
    try {
      Semaphore slots = new Semaphore(Math.max(1, options.readers() / 4));
      List<Future<?>> listings = new ArrayList<>();
      try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
        for (int i = 0; i < holders.size(); i++) {
          int holder = i;
          listings.add(threads.submit(() -> {
            slots.acquireUninterruptibly();
            try {
              listOne(holder, holders.get(holder), client, options, builder, report, progress);
            } finally {
              slots.release();
            }
            return null;
          }));
        }
      }
      for (Future<?> f : listings) {
        CatalogRebuild.await(f);
      }
      return builder.finish();
    } catch (IOException | RuntimeException e) {
      builder.close();
      throw e;
    }
  }

  private static void listOne(int holder, HolderRecord h, HolderClient client, CatalogRebuild.Options options,
      SortedRecordFile.Builder builder, PrintStream report, RebuildProgress progress) throws IOException {
    URI endpoint = URI.create(h.endpoint());
    String after = "";
    long taken = 0;
    long dropped = 0;
    String stopped = "";
    while (stopped.isEmpty()) {
      HolderClient.Listing page;
      try {
        page = client.list(endpoint, after, options.pageSize());
      } catch (IOException e) {
        stopped = "; could not be listed fully: " + e.getMessage();
        break;
      }
      List<byte[]> fresh = new ArrayList<>();
      String last = after;
      for (FragmentId id : page.fragments()) {
        if (id.hex().compareTo(last) <= 0) {
          dropped++;
          continue;
        }
        if (taken + fresh.size() >= options.maxListedPerHolder()) {
          stopped = String.format(Locale.ROOT, "; listing cut at %,d ids (--max-listed)", options.maxListedPerHolder());
          break;
        }
        fresh.add(record(id, holder));
        last = id.hex();
      }
      // A failure here is the work directory's, not the holder's: it ends the rebuild.
      synchronized (builder) {
        for (byte[] r : fresh) {
          builder.add(r);
        }
      }
      taken += fresh.size();
      progress.listed(fresh.size());
      if (!page.more()) {
        break;
      }
      if (stopped.isEmpty() && last.equals(after)) {
        stopped = "; a page after " + (after.isEmpty() ? "the start" : after) + " listed nothing new: stopped there";
      }
      after = last;
    }
    progress.holderListed();
    report.printf(Locale.ROOT, "  holder %s (%s): %d fragments%s%s%n", h.holderId(), h.endpoint(), taken,
        dropped > 0 ? "; " + dropped + " ids out of order or repeated, ignored" : "", stopped);
  }

  static byte[] record(FragmentId id, int holder) {
    return ByteBuffer.allocate(RECORD).put(HexFormat.of().parseHex(id.hex())).putInt(holder).array();
  }

  /**
   * The sorted listing read back one fragment id at a time, with the holders that list it (each
   * once, in the rebuild's order of holders).
   */
  static final class ListedIds implements AutoCloseable {
    private final SortedRecordFile.Records records;
    private final byte[] ahead = new byte[RECORD];
    private boolean more;
    private final byte[] id = new byte[32];
    private int[] holders = new int[8];
    private int count;

    ListedIds(SortedRecordFile listed) throws IOException {
      this.records = listed.records();
      this.more = records.next(ahead);
    }

    /** Moves to the next id; false after the last. */
    boolean next() throws IOException {
      if (!more) {
        return false;
      }
      System.arraycopy(ahead, 0, id, 0, 32);
      count = 0;
      while (more && Arrays.equals(ahead, 0, 32, id, 0, 32)) {
        int holder = ByteBuffer.wrap(ahead, 32, 4).getInt();
        if (count == holders.length) {
          holders = Arrays.copyOf(holders, count * 2);
        }
        holders[count++] = holder;
        more = records.next(ahead);
      }
      return true;
    }

    /** The current id's 32 bytes (the array is reused: copy what must be kept). */
    byte[] id() {
      return id;
    }

    FragmentId fragmentId() {
      return new FragmentId(HexFormat.of().formatHex(id));
    }

    /** The holders listing the current id. */
    int[] holders() {
      return Arrays.copyOf(holders, count);
    }

    @Override
    public void close() throws IOException {
      records.close();
    }
  }
}
