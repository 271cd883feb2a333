package dev.narvault.encoder;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.pack.Manifest;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A pack being assembled in a file: verified NAR objects appended one after another. An append
 * that fails is cut off again, so the spool only ever holds whole, verified objects.
 */
final class PackSpool implements AutoCloseable {
  private final Path file;
  private FileChannel channel;
  private final List<Manifest.Nar> nars = new ArrayList<>();
  private final Set<String> storeHashes = new HashSet<>();
  private int aliases;

  PackSpool(Path file) throws IOException {
    this.file = file;
    this.channel = openChannel(file, true);
  }

  private static FileChannel openChannel(Path file, boolean truncate) throws IOException {
    return truncate
        ? FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ, StandardOpenOption.WRITE)
        : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
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

  /** Whether a NAR of this store path (by its hash) is in the pack already. */
  boolean containsStorePath(String storeHash) {
    return storeHashes.contains(storeHash);
  }

  /**
   * Lists another narinfo for an object already in this pack (its FileHash must match): the
   * bytes are stored once, the entry goes right after the object's first one.
   */
  void addAlias(String key, NarInfo narInfo) {
    for (int i = 0; i < nars.size(); i++) {
      Manifest.Nar first = nars.get(i);
      if (first.key().equals(key)) {
        String conflict = Migration.aliasConflict(first.parsedNarInfo(), narInfo);
        if (conflict != null) {
          throw new IllegalArgumentException("narinfo of " + narInfo.storePath() + " names " + key + " " + conflict);
        }
        int at = i + 1;
        while (at < nars.size() && nars.get(at).key().equals(key)) {
          at++;
        }
        nars.add(at, new Manifest.Nar(key, first.offset(), first.length(), first.fileHash(), narInfo.text()));
        storeHashes.add(narInfo.storePath().hashPart());
        aliases++;
        return;
      }
    }
    throw new IllegalArgumentException("no object " + key + " in this pack");
  }

  /** Entries added by {@link #addAlias}: store paths whose object another entry brought. */
  int aliasCount() {
    return aliases;
  }

  List<Manifest.Nar> nars() {
    return List.copyOf(nars);
  }

  FileChannel channel() {
    return channel;
  }

  Path file() {
    return file;
  }

  /**
   * Appends an object already verified against {@code narInfo} (its bytes in {@code file}, which
   * this may take over: the first object of a pack is moved into place rather than copied).
   */
  void appendVerified(String key, NarInfo narInfo, Path file) throws IOException {
    long start = channel.size();
    if (start == 0 && Files.size(file) == narInfo.fileSize().orElse(-1)) {
      channel.close();
      Files.move(file, this.file, StandardCopyOption.REPLACE_EXISTING);
      channel = openChannel(this.file, false);
      nars.add(new Manifest.Nar(key, 0, channel.size(), narInfo.fileHash().orElseThrow().toNixString(),
          narInfo.text()));
      storeHashes.add(narInfo.storePath().hashPart());
      return;
    }
    try (FileChannel source = FileChannel.open(file, StandardOpenOption.READ)) {
      long length = source.size();
      if (length != narInfo.fileSize().orElse(-1)) {
        throw new IOException("verified object " + file + " has " + length + " bytes, narinfo says "
            + narInfo.fileSize().orElse(-1));
      }
      long copied = 0;
      while (copied < length) {
        long n = channel.transferFrom(source, start + copied, length - copied);
        if (n <= 0) {
          throw new IOException("verified object " + file + " ended after " + copied + " of " + length + " bytes");
        }
        copied += n;
      }
    } catch (IOException | RuntimeException e) {
      channel.truncate(start);
      throw e;
    }
    nars.add(new Manifest.Nar(key, start, channel.size() - start, narInfo.fileHash().orElseThrow().toNixString(),
        narInfo.text()));
    storeHashes.add(narInfo.storePath().hashPart());
  }

  @Override
  public void close() throws IOException {
    channel.close();
    Files.deleteIfExists(file);
  }
}
