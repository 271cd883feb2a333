package dev.narvault.holder.store;

import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Deleted fragments, kept for a while so that a mistaken delete can be undone (restore). Each is
 * one file {@code <dir>/<id>.<block size>.<epoch millis trashed>}: the name records all a restore
 * needs (the block size, to verify the bytes against the id again) and when the fragment was
 * trashed, so moving a fragment in or out is one rename on one filesystem and writes no byte — a
 * full disk never blocks a delete. At most one copy per id is kept (the latest).
 *
 * <p>The trash keeps books of its files in memory (read back from the names when the store
 * opens); every change is made under its lock. Deleting a file can fail: that entry is kept and
 * tried again by the next purge, and the others go on.
 */
final class Trash {
  private static final Logger LOG = LoggerFactory.getLogger(Trash.class);
  private static final int HASH_CHUNK = 64 * 1024;

  /** One trashed fragment. */
  record Entry(FragmentId id, int blockSize, Instant trashedAt, long size, Path file) {}

  private static final Comparator<Entry> OLDEST_FIRST =
      Comparator.comparing(Entry::trashedAt).thenComparing(e -> e.id().hex());

  private final Path dir;
  private final Map<FragmentId, Entry> byId = new HashMap<>();
  private final TreeSet<Entry> byAge = new TreeSet<>(OLDEST_FIRST);
  private long bytes;

  private Trash(Path dir) {
    this.dir = dir;
  }

  /** Opens the trash in {@code dir}, creating it and reading its books from the file names. */
  static Trash open(Path dir) throws IOException {
    Files.createDirectories(dir);
    Trash trash = new Trash(dir);
    try (Stream<Path> files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Optional<Entry> entry = parse(p);
        if (entry.isEmpty()) {
          LOG.warn("ignoring {} in the trash: not <fragment id>.<block size>.<millis>", p);
          continue;
        }
        Entry older = trash.byId.get(entry.get().id());
        if (older != null && OLDEST_FIRST.compare(older, entry.get()) > 0) {
          Files.deleteIfExists(p);
          continue;
        }
        if (older != null) {
          trash.remove(older);
          Files.deleteIfExists(older.file());
        }
        trash.add(entry.get());
      }
    }
    return trash;
  }

  private static Optional<Entry> parse(Path p) {
    String[] parts = p.getFileName().toString().split("\\.", -1);
    try {
      if (parts.length != 3 || !Files.isRegularFile(p)) {
        return Optional.empty();
      }
      int blockSize = Integer.parseInt(parts[1]);
      long millis = Long.parseLong(parts[2]);
      if (blockSize < 1 || millis < 0) {
        return Optional.empty();
      }
      return Optional.of(new Entry(new FragmentId(parts[0]), blockSize, Instant.ofEpochMilli(millis), Files.size(p), p));
    } catch (IllegalArgumentException | IOException e) {
      return Optional.empty();
    }
  }

  /**
   * Moves the stored fragment file {@code from} into the trash, by one rename, replacing an older
   * trashed copy of the same id; false when {@code from} is gone (a concurrent delete won).
   */
  synchronized boolean put(Path from, FragmentId id, int blockSize, long size, Instant now) throws IOException {
    Path to = dir.resolve(id.hex() + "." + blockSize + "." + now.toEpochMilli());
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    } catch (NoSuchFileException e) {
      return false;
    }
    Entry older = byId.get(id);
    if (older != null) {
      remove(older);
      if (!older.file().equals(to)) {
        deleteQuietly(older);
      }
    }
    add(new Entry(id, blockSize, now, size, to));
    fsync(dir);
    return true;
  }

  /**
   * Hashes a taken entry's bytes again: a copy that no longer matches its id is deleted.
   *
   * @throws FragmentMismatchException when it does not match
   */
  static void verify(Entry entry) throws IOException {
    FragmentHasher hasher = new FragmentHasher(entry.blockSize());
    try (FileChannel f = FileChannel.open(entry.file(), StandardOpenOption.READ)) {
      ByteBuffer buf = ByteBuffer.allocate(HASH_CHUNK);
      int n;
      while ((n = f.read(buf.clear())) > 0) {
        hasher.update(buf.array(), 0, n);
      }
    }
    FragmentId actual = hasher.finish().id();
    if (!actual.equals(entry.id())) {
      Files.deleteIfExists(entry.file());
      throw new FragmentMismatchException("the trashed copy of fragment " + entry.id() + " hashes to " + actual
          + "; it is deleted");
    }
  }

  synchronized Optional<Entry> find(FragmentId id) {
    return Optional.ofNullable(byId.get(id));
  }

  /**
   * Takes {@code entry} off the books (its file stays, for the caller to move or delete): false
   * when it is no longer there (restored, purged or replaced meanwhile).
   */
  synchronized boolean take(Entry entry) {
    if (!entry.equals(byId.get(entry.id()))) {
      return false;
    }
    remove(entry);
    return true;
  }

  /** Puts a taken entry back, its file untouched; deletes it instead if the id was trashed again since. */
  synchronized void putBack(Entry entry) {
    if (byId.containsKey(entry.id())) {
      deleteQuietly(entry);
    } else {
      add(entry);
    }
  }

  /** Deletes the trashed copy of {@code id}, if any (the fragment was stored again: it is redundant). */
  synchronized void discard(FragmentId id) {
    Entry entry = byId.get(id);
    if (entry != null && deleteQuietly(entry)) {
      remove(entry);
    }
  }

  /**
   * Deletes trashed fragments, oldest first, until at most {@code allowance} bytes remain (or
   * nothing does); returns how many were deleted.
   */
  synchronized int shrinkTo(long allowance) {
    int deleted = 0;
    for (Entry e : new ArrayList<>(byAge)) {
      if (bytes <= allowance) {
        break;
      }
      if (deleteQuietly(e)) {
        remove(e);
        deleted++;
      }
    }
    return deleted;
  }

  /** Deletes the fragments trashed at or before {@code before}; returns how many. */
  synchronized int purge(Instant before) {
    List<Entry> due = new ArrayList<>();
    for (Entry e : byAge) {
      if (e.trashedAt().isAfter(before)) {
        break;
      }
      due.add(e);
    }
    int deleted = 0;
    for (Entry e : due) {
      if (deleteQuietly(e)) {
        remove(e);
        deleted++;
      }
    }
    return deleted;
  }

  synchronized long bytes() {
    return bytes;
  }

  synchronized int count() {
    return byId.size();
  }

  private void add(Entry e) {
    byId.put(e.id(), e);
    byAge.add(e);
    bytes += e.size();
  }

  private void remove(Entry e) {
    byId.remove(e.id());
    byAge.remove(e);
    bytes -= e.size();
  }

  /** True when the file is gone; a failure is logged and the entry kept for the next try. */
  private static boolean deleteQuietly(Entry e) {
    try {
      Files.deleteIfExists(e.file());
      return true;
    } catch (IOException ex) {
      LOG.warn("cannot delete trashed fragment {} ({}), will retry: {}", e.id(), e.file(), ex.toString());
      return false;
    }
  }

  private static void fsync(Path directory) throws IOException {
    try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
      d.force(true);
    }
  }
}
