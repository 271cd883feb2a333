package dev.narvault.core.pack;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * How {@link PackFiller} cuts a byte range of a pack: into pieces of whole blocks of one data
 * fragment, on one grid of block indexes shared by every fragment, so that the pieces of all
 * fragments at the same place of the grid (a stripe) hold the same blocks and can be decoded
 * together. The grid is every {@code chunkBlocks} blocks, plus, from the range's first block, steps
 * of 1, 2, 4 ... blocks: the first bytes of the range come in the first small piece.
 */
final class FillPlan {
  /**
   * A piece: blocks {@code [first, end)} of data fragment {@code fragment}, at {@code stripe} of
   * the grid, of which {@code length} bytes from {@code skip} on are range bytes
   * {@code [rangeOffset, rangeOffset + length)}; {@code inside} when every byte of its blocks is in
   * the range (so it can be read back from the file whole).
   */
  record Piece(int fragment, int stripe, int first, int end, long rangeOffset, int skip, int length,
      boolean inside) {}

  private final List<List<Piece>> lanes;
  private final int pieceCount;

  private FillPlan(List<List<Piece>> lanes) {
    this.lanes = lanes;
    this.pieceCount = lanes.stream().mapToInt(List::size).sum();
  }

  /** The pieces of pack bytes {@code [packOffset, packOffset + length)}, one lane per data fragment. */
  static FillPlan of(PackLayout layout, long packOffset, long length, int chunkBlocks) {
    if (chunkBlocks < 1) {
      throw new IllegalArgumentException("chunkBlocks must be >= 1, got " + chunkBlocks);
    }
    List<FragmentRange> ranges = ReadPlanner.plan(layout, packOffset, length);
    List<List<Piece>> lanes = new ArrayList<>();
    if (ranges.isEmpty()) {
      return new FillPlan(lanes);
    }
    TreeSet<Integer> grid = new TreeSet<>();
    for (int b = 0; b <= layout.blockCount(); b += chunkBlocks) {
      grid.add(b);
    }
    grid.add(layout.blockCount());
    int start = ReadPlanner.firstBlock(layout, ranges.getFirst());
    for (int step = 1; step < chunkBlocks && start + step < layout.blockCount(); step *= 2) {
      grid.add(start + step);
    }
    List<Integer> points = List.copyOf(grid);
    long blockSize = layout.blockSize();
    for (FragmentRange r : ranges) {
      List<Piece> lane = new ArrayList<>();
      int first = ReadPlanner.firstBlock(layout, r);
      int end = ReadPlanner.endBlock(layout, r);
      int stripe = stripeOf(points, first);
      for (int b = first; b < end; stripe++) {
        int pieceEnd = Math.min(end, points.get(stripe + 1));
        long blocksFrom = b * blockSize;
        long blocksTo = Math.min(layout.fragmentSize(), pieceEnd * blockSize);
        long from = Math.max(r.fragmentOffset(), blocksFrom);
        long to = Math.min(r.fragmentOffset() + r.length(), blocksTo);
        lane.add(new Piece(r.fragmentIndex(), stripe, b, pieceEnd, r.packOffset() + (from - r.fragmentOffset())
            - packOffset, (int) (from - blocksFrom), (int) (to - from), from == blocksFrom && to == blocksTo));
        b = pieceEnd;
      }
      lanes.add(List.copyOf(lane));
    }
    return new FillPlan(List.copyOf(lanes));
  }

  /** The index of the grid interval holding {@code block}. */
  private static int stripeOf(List<Integer> points, int block) {
    int lo = 0;
    int hi = points.size() - 1;
    while (hi - lo > 1) {
      int mid = (lo + hi) >>> 1;
      if (points.get(mid) <= block) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** One list of pieces per data fragment the range spans, in fragment order, each in block order. */
  List<List<Piece>> lanes() {
    return lanes;
  }

  int pieceCount() {
    return pieceCount;
  }
}
