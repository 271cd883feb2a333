package dev.narvault.encoder.sorted;

import dev.narvault.core.access.Decompressing;
import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.sorted.SortedRecordFile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * A set of store path hashes read from a list, of any size, on disk: a {@link SortedRecordFile}
 * of 20-byte records. Each record is a hash's 32 nix32 characters at 5 bits each, the first
 * character in the top bits: the alphabet is in ASCII order, so the records sort as the hashes
 * do as text, and as narinfo keys do in a bucket listing (which then reads each block once).
 *
 * <p>10^8 hashes take 2 GB of disk and, while sorted, the memory budget given; looked up, about
 * 5 MiB of index. A {@code HashSet<String>} of them would take ~11 GB of heap.
 */
public final class StoreHashSet implements AutoCloseable {
  static final int WIDTH = 20;

  private final SortedRecordFile records;

  private StoreHashSet(SortedRecordFile records) {
    this.records = records;
  }

  /**
   * Reads a list of store paths or their hashes, one per line ({@code /nix/store/<hash>-name},
   * {@code <hash>-name} or {@code <hash>}); blank lines and {@code #} comments are skipped. The
   * sorted set is built in {@code dir}, with at most about {@code memoryBytes} of hashes in memory.
   *
   * @throws IllegalArgumentException when the file is missing, or naming the first line that is
   *     none of these
   */
  public static StoreHashSet read(Path list, Path dir, long memoryBytes) throws IOException {
    return read(List.of(list), dir, memoryBytes);
  }

  /**
   * Reads several such lists into one set; each may be compressed (gzip or xz, as a channel's
   * {@code store-paths.xz}), told by its first bytes.
   */
  public static StoreHashSet read(List<Path> lists, Path dir, long memoryBytes) throws IOException {
    try (Builder builder = builder(dir, memoryBytes)) {
      for (Path list : lists) {
        readInto(list, builder);
      }
      return builder.finish();
    }
  }

  private static void readInto(Path list, Builder builder) throws IOException {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(Decompressing.open(Files.newInputStream(list)),
        StandardCharsets.UTF_8), 1 << 16)) {
      long n = 0;
      String line;
      while ((line = in.readLine()) != null) {
        n++;
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        String hash = hashOf(l);
        if (hash == null) {
          throw new IllegalArgumentException(list + ":" + n + ": not a store path or hash: '"
              + (l.length() > 100 ? l.substring(0, 100) + "…" : l) + "'");
        }
        builder.add(hash);
      }
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("no such file: " + list, e);
    }
  }

  /** Starts a set built from hashes added in any order, with at most about {@code memoryBytes} of them in memory. */
  public static Builder builder(Path dir, long memoryBytes) {
    return new Builder(SortedRecordFile.builder(dir, WIDTH, WIDTH, memoryBytes));
  }

  /** Collects store hashes in any order (repeats allowed); {@link #finish} sorts them into a set. */
  public static final class Builder implements AutoCloseable {
    private final SortedRecordFile.Builder records;

    private Builder(SortedRecordFile.Builder records) {
      this.records = records;
    }

    /** Adds a store path hash. */
    public void add(String storeHash) throws IOException {
      records.add(pack(storeHash));
    }

    /** Adds every hash of a set. */
    public void addAll(StoreHashSet set) throws IOException {
      try (SortedRecordFile.Records r = set.records.records()) {
        byte[] record = new byte[WIDTH];
        while (r.next(record)) {
          records.add(record.clone());
        }
      }
    }

    public StoreHashSet finish() throws IOException {
      return new StoreHashSet(records.finish());
    }

    /** Deletes what was collected (needed only when building is abandoned). */
    @Override
    public void close() throws IOException {
      records.close();
    }
  }

  /** A pass over the set's hashes in order. */
  public Hashes hashes() throws IOException {
    return new Hashes(records.records());
  }

  /** The set's hashes in order, one at a time. */
  public static final class Hashes implements AutoCloseable {
    private final SortedRecordFile.Records records;
    private final byte[] record = new byte[WIDTH];

    private Hashes(SortedRecordFile.Records records) {
      this.records = records;
    }

    /** The next hash, or null after the last. */
    public String next() throws IOException {
      return records.next(record) ? unpack(record) : null;
    }

    @Override
    public void close() throws IOException {
      records.close();
    }
  }

  /** Whether the set holds this store path hash. */
  public boolean contains(String storeHash) throws IOException {
    return records.contains(pack(storeHash));
  }

  /** Distinct hashes in the set. */
  public long size() {
    return records.count();
  }

  /** A digest of the set (not of the file's order or comments): equal sets, equal digests. */
  public String digest() {
    return records.digest();
  }

  /**
   * The hash part of a store path, a store path's base name, or a bare hash; null for anything
   * else (a path inside a store path, a name without a hash).
   */
  static String hashOf(String line) {
    String base = line.substring(line.lastIndexOf('/') + 1);
    if (base.length() < StorePath.HASH_PART_LENGTH) {
      return null;
    }
    String hash = base.substring(0, StorePath.HASH_PART_LENGTH);
    if (!NixBase32.isNix32(hash)) {
      return null;
    }
    return base.length() == StorePath.HASH_PART_LENGTH || base.charAt(StorePath.HASH_PART_LENGTH) == '-' ? hash : null;
  }

  /** The 20-byte record of a hash: its characters' values, 5 bits each, first character first. */
  static byte[] pack(String hash) {
    if (hash.length() != StorePath.HASH_PART_LENGTH) {
      throw new IllegalArgumentException("a store path hash has 32 characters, got '" + hash + "'");
    }
    byte[] out = new byte[WIDTH];
    long bits = 0;
    int held = 0;
    int at = 0;
    for (int i = 0; i < StorePath.HASH_PART_LENGTH; i++) {
      int digit = NixBase32.digit(hash.charAt(i));
      if (digit < 0) {
        throw new IllegalArgumentException("not a nix32 store path hash: '" + hash + "'");
      }
      bits = bits << 5 | digit;
      held += 5;
      if (held >= 8) {
        held -= 8;
        out[at++] = (byte) (bits >>> held);
      }
    }
    return out;
  }

  /** The hash of a 20-byte record: {@link #pack} undone. */
  static String unpack(byte[] record) {
    StringBuilder hash = new StringBuilder(StorePath.HASH_PART_LENGTH);
    long bits = 0;
    int held = 0;
    int at = 0;
    for (int i = 0; i < StorePath.HASH_PART_LENGTH; i++) {
      if (held < 5) {
        bits = bits << 8 | (record[at++] & 0xff);
        held += 8;
      }
      held -= 5;
      hash.append(NixBase32.character((int) (bits >>> held) & 31));
    }
    return hash.toString();
  }

  /** Closes and deletes the set's file. */
  @Override
  public void close() throws IOException {
    records.close();
  }
}
