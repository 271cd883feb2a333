package dev.narvault.core.archive;

import dev.narvault.core.pack.RangeFile;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link RangeFile} that remembers which of its bytes were written, so that what a fill from the
 * holders left out can be filled from elsewhere (a pack's backstop), each byte once.
 */
final class WrittenRanges implements RangeFile {
  private final RangeFile file;
  /** Start to end of the written ranges, merged where they touch; guarded by this. */
  private final TreeMap<Long, Long> ranges = new TreeMap<>();

  WrittenRanges(RangeFile file) {
    this.file = file;
  }

  /** Whether a write to the file itself failed: then nothing more can be written to it. */
  private volatile boolean fileFailed;

  @Override
  public void write(long position, byte[] bytes, int offset, int length) throws IOException {
    try {
      file.write(position, bytes, offset, length);
    } catch (IOException | RuntimeException e) {
      fileFailed = true;
      throw e;
    }
    synchronized (this) {
      long start = position;
      long end = position + length;
      Map.Entry<Long, Long> before = ranges.floorEntry(start);
      if (before != null && before.getValue() >= start) {
        start = before.getKey();
        end = Math.max(end, before.getValue());
      }
      for (Map.Entry<Long, Long> next = ranges.ceilingEntry(start); next != null && next.getKey() <= end;
          next = ranges.ceilingEntry(start)) {
        end = Math.max(end, next.getValue());
        ranges.remove(next.getKey());
      }
      ranges.put(start, end);
    }
  }

  @Override
  public void read(long position, byte[] into, int offset, int length) throws IOException {
    file.read(position, into, offset, length);
  }

  boolean fileFailed() {
    return fileFailed;
  }

  /** The ranges of {@code [0, length)} not written, each as {start, length}, in order. */
  synchronized List<long[]> gaps(long length) {
    List<long[]> gaps = new ArrayList<>();
    long at = 0;
    for (Map.Entry<Long, Long> r : ranges.entrySet()) {
      if (r.getKey() > at) {
        gaps.add(new long[] {at, r.getKey() - at});
      }
      at = Math.max(at, r.getValue());
    }
    if (at < length) {
      gaps.add(new long[] {at, length - at});
    }
    return gaps;
  }

  /** Writes a stream's bytes into a {@link RangeFile} from {@code position} on. */
  static final class Output extends OutputStream {
    private final RangeFile file;
    private long position;

    Output(RangeFile file, long position) {
      this.file = file;
      this.position = position;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      file.write(position, b, off, len);
      position += len;
    }
  }
}
