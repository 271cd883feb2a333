package dev.narvault.core.pack;

import java.util.ArrayList;
import java.util.List;

/**
 * Maps a byte range of a pack onto the data fragments that hold it. With the contiguous layout a
 * NAR smaller than a fragment usually lies in one data fragment, so it is one ranged read.
 */
public final class ReadPlanner {
  private ReadPlanner() {}

  /** The data-fragment ranges covering pack bytes {@code [packOffset, packOffset + length)}, in order. */
  public static List<FragmentRange> plan(PackLayout layout, long packOffset, long length) {
    if (packOffset < 0 || length < 0 || packOffset + length > layout.packLength()) {
      throw new IllegalArgumentException("range " + packOffset + "+" + length + " is outside the pack of "
          + layout.packLength() + " bytes");
    }
    List<FragmentRange> ranges = new ArrayList<>();
    long at = packOffset;
    long end = packOffset + length;
    while (at < end) {
      int fragment = (int) (at / layout.fragmentSize());
      long inFragment = at - fragment * layout.fragmentSize();
      long n = Math.min(end - at, layout.fragmentSize() - inFragment);
      ranges.add(new FragmentRange(fragment, inFragment, n, at));
      at += n;
    }
    return ranges;
  }

  /**
   * The whole blocks covering {@code range}: {@code [firstBlock, endBlock)}. Reads are done in
   * whole blocks because only whole blocks can be verified.
   */
  public static int firstBlock(PackLayout layout, FragmentRange range) {
    return (int) (range.fragmentOffset() / layout.blockSize());
  }

  public static int endBlock(PackLayout layout, FragmentRange range) {
    return (int) Math.ceilDiv(range.fragmentOffset() + range.length(), (long) layout.blockSize());
  }
}
