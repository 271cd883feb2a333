package dev.narvault.core.sorted;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;

/**
 * Fixed-width records sorted on disk by their key (the first {@code keyWidth} bytes, compared
 * unsigned), one record per key: a set or map of any size in bounded memory.
 *
 * <p><b>Building</b> is an external sort. {@link Builder#add} collects records in a batch in
 * memory; a full batch is sorted and written to a file of its own. {@link Builder#finish} merges
 * the batch files, at most {@value #MERGE_WIDTH} at a time (in passes when there are more), into
 * one sorted file, keeping the first record added of each key (the sort is stable and the merge
 * breaks ties by age). Memory: one batch (the budget given) and {@value #MERGE_WIDTH} read
 * buffers while merging.
 *
 * <p><b>Looking up</b> reads through a sparse index kept in memory: the key of every
 * {@code stride}-th record, at most {@value #MAX_INDEX_ENTRIES} of them. A lookup finds its block
 * of {@code stride} records in the index, reads that block (one positional read) and searches it.
 * The block last read is kept, so lookups in key order, as a bucket listing makes them, read each
 * block once: a merge join of the listing against the file, without a second code path.
 *
 * <p><b>Reading in order</b>: {@link #records()} streams every record from the first, through a
 * buffer of its own (several may read at once), for merging sorted files with each other.
 */
public final class SortedRecordFile implements AutoCloseable {
  static final int MERGE_WIDTH = 128;
  static final int MAX_INDEX_ENTRIES = 1 << 18;
  static final int MIN_STRIDE = 128;
  private static final int READ_BUFFER = 1 << 16;

  private final Path file;
  private final int keyWidth;
  private final int recordWidth;
  private final long count;
  private final int stride;
  /** The key of record {@code i * stride}, for each block {@code i}, one after another. */
  private final byte[] index;
  private final String digest;
  private final FileChannel channel;
  private final byte[] block;
  private long cachedBlock = -1;
  private int cachedRecords;

  private SortedRecordFile(Path file, int keyWidth, int recordWidth, long count, int stride, byte[] index,
      String digest) throws IOException {
    this.file = file;
    this.keyWidth = keyWidth;
    this.recordWidth = recordWidth;
    this.count = count;
    this.stride = stride;
    this.index = index;
    this.digest = digest;
    this.channel = FileChannel.open(file, StandardOpenOption.READ);
    this.block = new byte[stride * recordWidth];
  }

  /**
   * Starts building a file of records of {@code recordWidth} bytes keyed by their first
   * {@code keyWidth}, in {@code dir}, holding at most about {@code memoryBytes} of records in
   * memory at once.
   */
  public static Builder builder(Path dir, int keyWidth, int recordWidth, long memoryBytes) {
    return new Builder(dir, keyWidth, recordWidth, memoryBytes);
  }

  /** Records in the file (keys added twice count once). */
  public long count() {
    return count;
  }

  /** SHA-256 of the file's records in order, hex: the same set gives the same digest. */
  public String digest() {
    return digest;
  }

  /** The width of each record, in bytes. */
  public int recordWidth() {
    return recordWidth;
  }

  /** Every record in key order, from the first. Close it when done (the file stays). */
  public Records records() throws IOException {
    return new Records(new DataInputStream(new BufferedInputStream(Files.newInputStream(file), READ_BUFFER)),
        recordWidth);
  }

  /** A pass over the records in key order. */
  public static final class Records implements AutoCloseable {
    private final DataInputStream in;
    private final int recordWidth;

    private Records(DataInputStream in, int recordWidth) {
      this.in = in;
      this.recordWidth = recordWidth;
    }

    /** Reads the next record into {@code record}; false after the last. */
    public boolean next(byte[] record) throws IOException {
      if (record.length != recordWidth) {
        throw new IllegalArgumentException("record must have " + recordWidth + " bytes, got " + record.length);
      }
      int n = in.readNBytes(record, 0, recordWidth);
      if (n == 0) {
        return false;
      }
      if (n != recordWidth) {
        throw new EOFException("a sorted file ends inside a record");
      }
      return true;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /** Whether a record has this key. */
  public boolean contains(byte[] key) throws IOException {
    return find(key).isPresent();
  }

  /**
   * The record with this key, or empty. Safe from several threads (they take turns on the one
   * cached block).
   */
  public synchronized Optional<byte[]> find(byte[] key) throws IOException {
    if (key.length != keyWidth) {
      throw new IllegalArgumentException("key must have " + keyWidth + " bytes, got " + key.length);
    }
    long blocks = index.length / keyWidth;
    // The last block whose first key is <= key.
    long low = 0;
    long high = blocks - 1;
    long found = -1;
    while (low <= high) {
      long mid = (low + high) >>> 1;
      int c = Arrays.compareUnsigned(index, (int) (mid * keyWidth), (int) (mid * keyWidth + keyWidth), key, 0, keyWidth);
      if (c <= 0) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (found < 0) {
      return Optional.empty();
    }
    readBlock(found);
    int lo = 0;
    int hi = cachedRecords - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int c = Arrays.compareUnsigned(block, mid * recordWidth, mid * recordWidth + keyWidth, key, 0, keyWidth);
      if (c == 0) {
        return Optional.of(Arrays.copyOfRange(block, mid * recordWidth, (mid + 1) * recordWidth));
      }
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return Optional.empty();
  }

  private void readBlock(long number) throws IOException {
    if (number == cachedBlock) {
      return;
    }
    long first = number * stride;
    int records = (int) Math.min(stride, count - first);
    ByteBuffer buffer = ByteBuffer.wrap(block, 0, records * recordWidth);
    long position = first * recordWidth;
    while (buffer.hasRemaining()) {
      if (channel.read(buffer, position + buffer.position()) < 0) {
        throw new EOFException(file + " ends inside block " + number);
      }
    }
    cachedBlock = number;
    cachedRecords = records;
  }

  /** Closes and deletes the file. */
  @Override
  public void close() throws IOException {
    channel.close();
    Files.deleteIfExists(file);
  }

  /** Collects records in any order; {@link #finish} sorts them into a {@link SortedRecordFile}. */
  public static final class Builder implements AutoCloseable {
    private final Path dir;
    private final int keyWidth;
    private final int recordWidth;
    private final byte[][] batch;
    private int size;
    private long added;
    private final List<Path> batchFiles = new ArrayList<>();
    private final Comparator<byte[]> byKey;

    private Builder(Path dir, int keyWidth, int recordWidth, long memoryBytes) {
      if (keyWidth < 1 || recordWidth < keyWidth) {
        throw new IllegalArgumentException("need 1 <= keyWidth <= recordWidth, got " + keyWidth + " and " + recordWidth);
      }
      this.dir = dir;
      this.keyWidth = keyWidth;
      this.recordWidth = recordWidth;
      // A record in a batch is a byte[] of its own: a 16-byte header, the bytes padded to 8, a reference.
      long perRecord = ((16 + recordWidth + 7) & ~7L) + 4;
      this.batch = new byte[(int) Math.clamp(memoryBytes / perRecord, 1024, Integer.MAX_VALUE - 8)][];
      this.byKey = (a, b) -> Arrays.compareUnsigned(a, 0, keyWidth, b, 0, keyWidth);
    }

    /** Adds a record (this builder keeps the array). */
    public void add(byte[] record) throws IOException {
      if (record.length != recordWidth) {
        throw new IllegalArgumentException("record must have " + recordWidth + " bytes, got " + record.length);
      }
      batch[size++] = record;
      added++;
      if (size == batch.length) {
        spill();
      }
    }

    private void spill() throws IOException {
      Arrays.sort(batch, 0, size, byKey);
      Path out = Files.createTempFile(dir, "batch-", ".sorted");
      batchFiles.add(out);
      try (OutputStream o = new BufferedOutputStream(Files.newOutputStream(out), READ_BUFFER)) {
        for (int i = 0; i < size; i++) {
          o.write(batch[i]);
        }
      }
      Arrays.fill(batch, 0, size, null);
      size = 0;
    }

    /** Sorts and merges everything added into one file (in the builder's directory). */
    public SortedRecordFile finish() throws IOException {
      if (size > 0 || batchFiles.isEmpty()) {
        spill();
      }
      // Intermediate passes: merge the oldest MERGE_WIDTH files into one until few enough are left.
      while (batchFiles.size() > MERGE_WIDTH) {
        List<Path> group = new ArrayList<>(batchFiles.subList(0, MERGE_WIDTH));
        Path merged = Files.createTempFile(dir, "batch-", ".sorted");
        // In front: it holds the oldest records, and ties go to the oldest.
        batchFiles.subList(0, MERGE_WIDTH).clear();
        batchFiles.add(0, merged);
        try (Output out = new Output(merged, keyWidth, recordWidth, Long.MAX_VALUE)) {
          merge(group, out);
        } finally {
          for (Path p : group) {
            Files.deleteIfExists(p);
          }
        }
      }
      Path result = Files.createTempFile(dir, "sorted-", ".records");
      int stride = (int) Math.max(MIN_STRIDE, Math.ceilDiv(added, MAX_INDEX_ENTRIES));
      Output out = new Output(result, keyWidth, recordWidth, stride);
      try (out) {
        merge(batchFiles, out);
      } catch (IOException | RuntimeException e) {
        Files.deleteIfExists(result);
        throw e;
      }
      close();
      return new SortedRecordFile(result, keyWidth, recordWidth, out.count, stride, out.index(), out.digest());
    }

    private void merge(List<Path> files, Output out) throws IOException {
      List<InputStream> opened = new ArrayList<>();
      try {
        PriorityQueue<Cursor> heads = new PriorityQueue<>((a, b) -> {
          int c = byKey.compare(a.record, b.record);
          return c != 0 ? c : Integer.compare(a.order, b.order);
        });
        for (Path f : files) {
          InputStream in = new BufferedInputStream(Files.newInputStream(f), READ_BUFFER);
          opened.add(in);
          Cursor c = new Cursor(new DataInputStream(in), new byte[recordWidth], opened.size() - 1);
          if (c.advance()) {
            heads.add(c);
          }
        }
        while (!heads.isEmpty()) {
          Cursor c = heads.poll();
          out.write(c.record);
          if (c.advance()) {
            heads.add(c);
          }
        }
      } finally {
        for (InputStream in : opened) {
          in.close();
        }
      }
    }

    /** Deletes the batch files (done by {@link #finish}; needed only when building is abandoned). */
    @Override
    public void close() throws IOException {
      for (Path p : batchFiles) {
        Files.deleteIfExists(p);
      }
      batchFiles.clear();
    }
  }

  /** One batch file being merged: its current record, and its age among the files (0 oldest). */
  private static final class Cursor {
    private final DataInputStream in;
    final byte[] record;
    final int order;

    Cursor(DataInputStream in, byte[] record, int order) {
      this.in = in;
      this.record = record;
      this.order = order;
    }

    /** Reads the next record into {@link #record}; false at the end of the file. */
    boolean advance() throws IOException {
      int n = in.readNBytes(record, 0, record.length);
      if (n == 0) {
        return false;
      }
      if (n != record.length) {
        throw new EOFException("a sorted batch file ends inside a record");
      }
      return true;
    }
  }

  /** Writes merged records, once per key, noting every {@code stride}-th key and the digest. */
  private static final class Output implements AutoCloseable {
    private final OutputStream out;
    private final int keyWidth;
    private final long stride;
    private final byte[] previous;
    private boolean any;
    private long count;
    private final ByteArrayOutputStream index = new ByteArrayOutputStream();
    private final MessageDigest sha256;

    Output(Path file, int keyWidth, int recordWidth, long stride) throws IOException {
      this.out = new BufferedOutputStream(Files.newOutputStream(file), READ_BUFFER);
      this.keyWidth = keyWidth;
      this.stride = stride;
      this.previous = new byte[recordWidth];
      try {
        this.sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every JDK has SHA-256", e);
      }
    }

    void write(byte[] record) throws IOException {
      if (any && Arrays.equals(previous, 0, keyWidth, record, 0, keyWidth)) {
        return;
      }
      if (count % stride == 0) {
        index.write(record, 0, keyWidth);
      }
      out.write(record);
      sha256.update(record);
      System.arraycopy(record, 0, previous, 0, record.length);
      any = true;
      count++;
    }

    byte[] index() {
      return index.toByteArray();
    }

    String digest() {
      return HexFormat.of().formatHex(sha256.digest());
    }

    @Override
    public void close() throws IOException {
      out.close();
    }
  }
}
