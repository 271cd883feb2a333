package dev.narvault.encoder;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.pack.Manifest;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A pack being assembled in a file: verified NAR objects appended one after another. An object
 * that fails verification is cut off again, so the spool only ever holds verified bytes.
 */
final class PackSpool implements AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final List<Manifest.Nar> nars = new ArrayList<>();

  PackSpool(Path file) throws IOException {
    this.file = file;
    this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
  }

  long length() throws IOException {
    return channel.size();
  }

  boolean isEmpty() {
    return nars.isEmpty();
  }

  boolean contains(String key) {
    return nars.stream().anyMatch(n -> n.key().equals(key));
  }

  /**
   * Lists another narinfo for an object already in this pack (its FileHash must match): the
   * bytes are stored once, the entry goes right after the object's first one.
   */
  void addAlias(String key, NarInfo narInfo) {
    for (int i = 0; i < nars.size(); i++) {
      Manifest.Nar first = nars.get(i);
      if (first.key().equals(key)) {
        if (!first.fileHash().equals(narInfo.fileHash().orElseThrow().toNixString())) {
          throw new IllegalArgumentException("narinfo of " + narInfo.storePath() + " names " + key
              + " with another FileHash than the object already packed");
        }
        int at = i + 1;
        while (at < nars.size() && nars.get(at).key().equals(key)) {
          at++;
        }
        nars.add(at, new Manifest.Nar(key, first.offset(), first.length(), first.fileHash(), narInfo.text()));
        return;
      }
    }
    throw new IllegalArgumentException("no object " + key + " in this pack");
  }

  List<Manifest.Nar> nars() {
    return List.copyOf(nars);
  }

  FileChannel channel() {
    return channel;
  }

  /**
   * Appends the object while verifying it against its narinfo; on a mismatch the spool is cut
   * back and the exception propagates.
   */
  void append(String key, NarInfo narInfo, InputStream object) throws IOException {
    long start = channel.size();
    channel.position(start);
    try {
      OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
      NarObjectVerifier.verify(object, narInfo, out);
      out.flush();
    } catch (IOException | RuntimeException e) {
      channel.truncate(start);
      throw e;
    }
    long length = channel.size() - start;
    nars.add(new Manifest.Nar(key, start, length, narInfo.fileHash().orElseThrow().toNixString(), narInfo.text()));
  }

  /** Empties the spool for the next pack. */
  void reset() throws IOException {
    channel.truncate(0);
    channel.position(0);
    nars.clear();
  }

  @Override
  public void close() throws IOException {
    channel.close();
    Files.deleteIfExists(file);
  }
}
