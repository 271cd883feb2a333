package dev.narvault.encoder.input;

import dev.narvault.core.nix.NixBase32;
import java.util.Optional;

/**
 * One of {@code count} parts of the store hashes, so that {@code count} migrate workers split a
 * cache without a shared listing (a part of the work, not of a pack: those are fragments).
 *
 * <p>Which part a hash is in: read its first {@value #PREFIX_LENGTH} characters as a base-32
 * number {@code v} in the nix32 alphabet's order ({@code 0123456789abcdfghijklmnpqrsvwxyz}, so
 * {@code 0 <= v < 32^4 = 1048576}); the hash is in shard {@code floor(v * count / 32^4) + 1}.
 * Hashes are uniform, so shards are equal in size. The alphabet is in ASCII order, so each shard
 * is one contiguous range of narinfo keys: a worker that lists lists its range alone, from
 * {@link #startAfter()} to {@link #end()}.
 *
 * @param index 1 to {@code count}
 * @param count 1 to {@value #MAX_COUNT}
 */
public record Shard(int index, int count) {
  static final int PREFIX_LENGTH = 4;
  /** 32^4: the number of distinct prefixes, so the most shards that can each have some. */
  public static final int MAX_COUNT = 1 << 20;
  /** Everything: one shard of one. */
  public static final Shard ALL = new Shard(1, 1);

  public Shard {
    if (count < 1 || count > MAX_COUNT || index < 1 || index > count) {
      throw new IllegalArgumentException("--shard must be I/N with 1 <= I <= N <= " + MAX_COUNT + ", got "
          + index + "/" + count);
    }
  }

  /**
   * Parses {@code I/N}, e.g. {@code 2/8}.
   *
   * @throws IllegalArgumentException naming the text when it is not that, or out of range
   */
  public static Shard parse(String text) {
    String[] parts = text.strip().split("/", -1);
    if (parts.length != 2) {
      throw new IllegalArgumentException("--shard must be I/N, e.g. 1/4 (the first of four), got '" + text + "'");
    }
    try {
      return new Shard(Integer.parseInt(parts[0].strip()), Integer.parseInt(parts[1].strip()));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--shard must be I/N, e.g. 1/4 (the first of four), got '" + text + "'", e);
    }
  }

  /** Whether a store path hash (or a narinfo key, which starts with one) is in this shard. */
  public boolean contains(String storeHash) {
    return shardOf(position(storeHash)) == index;
  }

  private int shardOf(int position) {
    return (int) ((long) position * count / MAX_COUNT) + 1;
  }

  /** {@code v} of a hash: its first four characters as a base-32 number. */
  static int position(String storeHash) {
    if (storeHash.length() < PREFIX_LENGTH) {
      throw new IllegalArgumentException("not a store path hash: '" + storeHash + "'");
    }
    int v = 0;
    for (int i = 0; i < PREFIX_LENGTH; i++) {
      int digit = NixBase32.digit(storeHash.charAt(i));
      if (digit < 0) {
        throw new IllegalArgumentException("not a store path hash: '" + storeHash + "'");
      }
      v = v << 5 | digit;
    }
    return v;
  }

  /** The first {@code v} of this shard. */
  private int first() {
    return (int) Math.ceilDiv((long) (index - 1) * MAX_COUNT, count);
  }

  /** One past the last {@code v} of this shard. */
  private int last() {
    return (int) Math.ceilDiv((long) index * MAX_COUNT, count);
  }

  /**
   * Where a listing of this shard starts: S3's {@code StartAfter}. Every key of the shard sorts
   * after it, every key of the shards before does not (a key is longer than its prefix).
   */
  public String startAfter() {
    return index == 1 ? "" : prefix(first());
  }

  /** The first key prefix past this shard, where its listing stops; none for the last shard. */
  public Optional<String> end() {
    return index == count ? Optional.empty() : Optional.of(prefix(last()));
  }

  /** Whether a key in listing order lies past this shard. */
  public boolean isPast(String key) {
    return end().map(e -> key.compareTo(e) >= 0).orElse(false);
  }

  /** The share of all keys that sorts before this shard, 0 to 1. */
  public double from() {
    return (double) first() / MAX_COUNT;
  }

  /** The share of all keys that sorts before the end of this shard, 0 to 1. */
  public double to() {
    return (double) last() / MAX_COUNT;
  }

  private static String prefix(int position) {
    char[] out = new char[PREFIX_LENGTH];
    for (int i = PREFIX_LENGTH - 1; i >= 0; i--) {
      out[i] = NixBase32.character(position & 31);
      position >>>= 5;
    }
    return new String(out);
  }

  @Override
  public String toString() {
    return index + "/" + count;
  }
}
