package dev.narvault.encoder.sorted;

import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.sorted.SortedRecordFile;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

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
    try (BufferedReader in = Files.newBufferedReader(list);
        SortedRecordFile.Builder builder = SortedRecordFile.builder(dir, WIDTH, WIDTH, memoryBytes)) {
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
          throw new IllegalArgumentException(list + ":" + n + ": not a store path or hash: '" + l + "'");
        }
        builder.add(pack(hash));
      }
      return new StoreHashSet(builder.finish());
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException("no such file: " + list, e);
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

  /** Closes and deletes the set's file. */
  @Override
  public void close() throws IOException {
    records.close();
  }
}
