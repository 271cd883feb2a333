package dev.narvault.repair.rebuild;

import dev.narvault.core.pack.FragmentId;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Signed documents a rebuild found, verified, on disk in the order found: each one's id, the
 * holders that list it and its bytes. Written while the holders are read, read back from the start
 * (manifests twice: once for the packs rewrites replaced), so that no document is held in memory
 * longer than it takes to handle it.
 *
 * <p>Layout of an entry: the id (32 bytes), the number of holders (int), each holder's number
 * (int), the length (int), the bytes. An entry's number ({@link #append}'s result) is its
 * position in the file: 0, 1, 2…
 */
final class DocumentSpill implements AutoCloseable {
  private final Path file;
  private final DataOutputStream out;
  private long count;

  DocumentSpill(Path file) throws IOException {
    this.file = file;
    this.out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 16));
  }

  /** Writes a document; returns its number. */
  synchronized long append(byte[] id, int[] holders, byte[] bytes) throws IOException {
    out.write(id, 0, 32);
    out.writeInt(holders.length);
    for (int h : holders) {
      out.writeInt(h);
    }
    out.writeInt(bytes.length);
    out.write(bytes);
    return count++;
  }

  synchronized long count() {
    return count;
  }

  /** One document read back. */
  record Entry(long number, FragmentId id, int[] holders, byte[] bytes) {}

  /** Reads every document from the first; call once writing is over. */
  Reader read() throws IOException {
    synchronized (this) {
      out.flush();
    }
    return new Reader(new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16)));
  }

  /** A pass over the documents in the order written. */
  static final class Reader implements AutoCloseable {
    private final DataInputStream in;
    private long number;

    private Reader(DataInputStream in) {
      this.in = in;
    }

    /** The next document, or null after the last. */
    Entry next() throws IOException {
      byte[] id = new byte[32];
      int n = in.readNBytes(id, 0, 32);
      if (n == 0) {
        return null;
      }
      if (n != 32) {
        throw new EOFException("a document spill file ends inside an entry");
      }
      int[] holders = new int[in.readInt()];
      for (int i = 0; i < holders.length; i++) {
        holders[i] = in.readInt();
      }
      int length = in.readInt();
      byte[] bytes = in.readNBytes(length);
      if (bytes.length != length) {
        throw new EOFException("a document spill file ends inside an entry");
      }
      return new Entry(number++, new FragmentId(HexFormat.of().formatHex(id)), holders, bytes);
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /** Closes and deletes the file. */
  @Override
  public void close() throws IOException {
    try {
      out.close();
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
