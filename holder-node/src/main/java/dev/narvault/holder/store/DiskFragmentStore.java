package dev.narvault.holder.store;

import dev.narvault.core.pack.FragmentDigest;
import dev.narvault.core.pack.FragmentHasher;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fragments as files under {@code <dir>/fragments/<id[0..2]>/<id[2..4]>/<id>}, each with a
 * {@code <id>.bs} file holding its block size (written first, so a visible fragment always has
 * one), uploads under {@code <dir>/tmp/}, corrupt fragments moved to {@code <dir>/quarantine/},
 * deleted ones to {@code <dir>/trash/} (see {@link Trash}) for the store's trash time.
 * An upload is written, fsynced, hashed, then hard-linked into place and the directory fsynced:
 * the link is the commit (directories created on the way are fsynced into their parents too).
 * Stale temporary files (from a crash) are swept when the store opens. Capacity is reserved when
 * an upload begins and released if it fails; quarantined fragments keep counting against it
 * (they are on the disk) until {@link #purgeQuarantine} deletes them.
 *
 * <p>The trash does not count against the capacity, but lives within it: an upload that needs
 * room deletes trashed fragments, oldest first, until the stored, reserved, quarantined and
 * trashed bytes together fit within the capacity again. So a holder never reports the trash as
 * used (the coordinator may place fragments there), and never holds more than its capacity on
 * disk because of it.
 *
 * <p>The ids stored are indexed in memory (built when the store opens), so listings and
 * {@link #contains} never walk the directories.
 */
public final class DiskFragmentStore implements FragmentStore {
  private static final Logger LOG = LoggerFactory.getLogger(DiskFragmentStore.class);

  private static final String BLOCK_SIZE_SUFFIX = ".bs";
  /** How long deleted fragments stay restorable unless the holder is told otherwise. */
  public static final Duration DEFAULT_TRASH_FOR = Duration.ofDays(7);

  private final Path fragments;
  private final Path tmp;
  private final Path quarantine;
  private final long capacity;
  private final Trash trash;
  private final InstantSource clock;
  private final Duration trashFor;
  private final AtomicLong used = new AtomicLong();
  private final AtomicInteger count = new AtomicInteger();
  private final ConcurrentSkipListSet<String> index = new ConcurrentSkipListSet<>();

  private DiskFragmentStore(Path dir, long capacity, Trash trash, InstantSource clock, Duration trashFor) {
    this.fragments = dir.resolve("fragments");
    this.tmp = dir.resolve("tmp");
    this.quarantine = dir.resolve("quarantine");
    this.capacity = capacity;
    this.trash = trash;
    this.clock = clock;
    this.trashFor = trashFor;
  }

  /** {@link #open(Path, long, InstantSource, Duration)} on the system clock, with the default trash time. */
  public static DiskFragmentStore open(Path dir, long capacity) throws IOException {
    return open(dir, capacity, InstantSource.system(), DEFAULT_TRASH_FOR);
  }

  /**
   * Opens the store in {@code dir}, creating it, sweeping stale uploads and counting what is stored.
   *
   * @param clock when fragments are trashed, and when they are due for purging
   * @param trashFor how long a deleted fragment stays restorable (zero: deleted at once)
   */
  public static DiskFragmentStore open(Path dir, long capacity, InstantSource clock, Duration trashFor)
      throws IOException {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1 byte, got " + capacity);
    }
    if (trashFor.isNegative()) {
      throw new IllegalArgumentException("trash time must be >= 0, got " + trashFor);
    }
    DiskFragmentStore store = new DiskFragmentStore(dir, capacity, Trash.open(dir.resolve("trash")), clock, trashFor);
    Files.createDirectories(store.fragments);
    Files.createDirectories(store.tmp);
    Files.createDirectories(store.quarantine);
    int swept = 0;
    try (Stream<Path> stale = Files.list(store.tmp)) {
      for (Path p : (Iterable<Path>) stale::iterator) {
        Files.deleteIfExists(p);
        swept++;
      }
    }
    if (swept > 0) {
      LOG.info("swept {} unfinished uploads from {}", swept, store.tmp);
    }
    try (Stream<Path> files = Files.walk(store.fragments)) {
      files.filter(p -> Files.isRegularFile(p) && !p.toString().endsWith(BLOCK_SIZE_SUFFIX)).forEach(p -> {
        String name = p.getFileName().toString();
        try {
          long size = Files.size(p);
          new FragmentId(name);
          store.used.addAndGet(size);
          store.count.incrementAndGet();
          store.index.add(name);
        } catch (IOException | IllegalArgumentException e) {
          LOG.warn("ignoring {}: {}", p, e.getMessage());
        }
      });
    }
    try (Stream<Path> files = Files.list(store.quarantine)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        store.used.addAndGet(Files.size(p));
      }
    }
    // A crash between a restore's (or an upload's) link and its trash cleanup leaves a copy of a
    // stored fragment in the trash: it is redundant.
    for (String hex : store.index) {
      store.trash.discard(new FragmentId(hex));
    }
    return store;
  }

  Path pathOf(FragmentId id) {
    String hex = id.hex();
    return fragments.resolve(hex.substring(0, 2)).resolve(hex.substring(2, 4)).resolve(hex);
  }

  @Override
  public Upload begin(FragmentId id, long length, int blockSize) throws IOException {
    if (length < 1) {
      throw new IllegalArgumentException("fragment length must be >= 1, got " + length);
    }
    if (blockSize < 1 || blockSize > (16 << 20)) {
      throw new IllegalArgumentException("block size must be 1 B to 16 MiB, got " + blockSize);
    }
    reserve(length);
    int purged = trash.shrinkTo(capacity - used.get());
    if (purged > 0) {
      LOG.info("made room for fragment {}: deleted the {} oldest trashed fragments", id, purged);
    }
    Path temp = tmp.resolve(id.hex() + "." + UUID.randomUUID() + ".part");
    try {
      FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      return new DiskUpload(id, length, blockSize, temp, channel);
    } catch (IOException e) {
      used.addAndGet(-length);
      throw e;
    }
  }

  private void reserve(long length) throws StoreFullException {
    while (true) {
      long now = used.get();
      if (now + length > capacity) {
        throw new StoreFullException(length, Math.max(0, capacity - now));
      }
      if (used.compareAndSet(now, now + length)) {
        return;
      }
    }
  }

  private final class DiskUpload implements Upload {
    private final FragmentId id;
    private final long length;
    private final Path temp;
    private final FileChannel channel;
    private final FragmentHasher hasher;
    private final int blockSize;
    private long written;
    private boolean done;

    DiskUpload(FragmentId id, long length, int blockSize, Path temp, FileChannel channel) {
      this.id = id;
      this.length = length;
      this.temp = temp;
      this.channel = channel;
      this.hasher = new FragmentHasher(blockSize);
      this.blockSize = blockSize;
    }

    @Override
    public void write(ByteBuffer bytes) throws IOException {
      int n = bytes.remaining();
      if (written + n > length) {
        throw new FragmentMismatchException("fragment " + id + " is longer than the announced " + length + " bytes");
      }
      if (bytes.hasArray()) {
        hasher.update(bytes.array(), bytes.arrayOffset() + bytes.position(), n);
      } else {
        byte[] copy = new byte[n];
        bytes.duplicate().get(copy);
        hasher.update(copy, 0, n);
      }
      while (bytes.hasRemaining()) {
        channel.write(bytes);
      }
      written += n;
    }

    @Override
    public boolean commit() throws IOException {
      if (written != length) {
        throw new FragmentMismatchException("fragment " + id + " has " + written + " bytes, announced " + length);
      }
      FragmentDigest digest = hasher.finish();
      if (!digest.id().equals(id)) {
        throw new FragmentMismatchException("bytes hash to fragment id " + digest.id() + ", not " + id);
      }
      channel.force(true);
      channel.close();
      if (!place(id, blockSize, temp)) {
        close();
        return false;
      }
      done = true;
      count.incrementAndGet();
      index.add(id.hex());
      trash.discard(id);
      return true;
    }

    @Override
    public void close() throws IOException {
      if (done) {
        return;
      }
      done = true;
      channel.close();
      Files.deleteIfExists(temp);
      used.addAndGet(-length);
    }
  }

  /**
   * Makes the verified file {@code from} the stored fragment {@code id}: its block-size file first,
   * then a hard link into place, then {@code from} is removed and the directories fsynced.
   *
   * @return false when the fragment is stored already ({@code from} is left where it is)
   */
  private boolean place(FragmentId id, int blockSize, Path from) throws IOException {
    Path target = pathOf(id);
    ensureDirectory(target.getParent());
    if (Files.exists(target)) {
      return false;
    }
    Path sizeFile = target.resolveSibling(id.hex() + BLOCK_SIZE_SUFFIX);
    Path sizeTemp = tmp.resolve(id.hex() + "." + UUID.randomUUID() + ".bs.part");
    Files.writeString(sizeTemp, Integer.toString(blockSize));
    try (FileChannel f = FileChannel.open(sizeTemp, StandardOpenOption.WRITE)) {
      f.force(true);
    }
    Files.move(sizeTemp, sizeFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try {
      // A hard link, not a rename: rename silently replaces a fragment another upload of the
      // same id committed meanwhile (both would count); a link fails if the name exists.
      Files.createLink(target, from);
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (UnsupportedOperationException e) {
      throw new IOException("the data directory does not support hard links: " + e.getMessage(), e);
    }
    Files.delete(from);
    fsyncDirectory(target.getParent());
    fsyncDirectory(from.getParent());
    return true;
  }

  /** Creates {@code dir} and any missing parent below the store, each fsynced into its parent. */
  private void ensureDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    if (!dir.startsWith(fragments) || dir.equals(fragments)) {
      throw new IOException("store directory " + dir + " is missing");
    }
    ensureDirectory(dir.getParent());
    try {
      Files.createDirectory(dir);
    } catch (FileAlreadyExistsException e) {
      return;
    }
    fsyncDirectory(dir.getParent());
  }

  private static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  @Override
  public boolean contains(FragmentId id) {
    return index.contains(id.hex());
  }

  @Override
  public Optional<FileChannel> open(FragmentId id) throws IOException {
    try {
      return Optional.of(FileChannel.open(pathOf(id), StandardOpenOption.READ));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /**
   * Moves the fragment into the trash by one rename (and drops its block-size file): nothing is
   * written, so a full disk does not stop it. With no trash time, or when its block size cannot be
   * read (a restore could not verify it), the fragment is deleted at once instead.
   */
  @Override
  public boolean delete(FragmentId id) throws IOException {
    Path p = pathOf(id);
    long size;
    try {
      size = Files.size(p);
    } catch (NoSuchFileException e) {
      return false;
    }
    int blockSize = trashFor.isZero() ? 0 : blockSizeOrZero(id);
    boolean removed = blockSize > 0 ? trash.put(p, id, blockSize, size, clock.instant()) : Files.deleteIfExists(p);
    if (!removed) {
      return false;
    }
    index.remove(id.hex());
    Files.deleteIfExists(p.resolveSibling(id.hex() + BLOCK_SIZE_SUFFIX));
    fsyncDirectory(p.getParent());
    used.addAndGet(-size);
    count.decrementAndGet();
    return true;
  }

  private int blockSizeOrZero(FragmentId id) {
    try {
      return blockSize(id);
    } catch (IOException e) {
      LOG.warn("fragment {} has no readable block size ({}): deleted, not trashed", id, e.getMessage());
      return 0;
    }
  }

  /**
   * Reserves the space, takes the trashed copy off the trash's books, verifies it against its id
   * and links it into place; on a failure other than corruption the copy goes back to the trash.
   */
  @Override
  public RestoreOutcome restore(FragmentId id) throws IOException {
    if (index.contains(id.hex())) {
      return RestoreOutcome.ALREADY_STORED;
    }
    Optional<Trash.Entry> found = trash.find(id);
    if (found.isEmpty()) {
      return RestoreOutcome.NOT_IN_TRASH;
    }
    Trash.Entry entry = found.get();
    // Trashed bytes become stored bytes: their sum, which the trash is kept within, does not grow.
    reserve(entry.size());
    if (!trash.take(entry)) {
      used.addAndGet(-entry.size());
      return index.contains(id.hex()) ? RestoreOutcome.ALREADY_STORED : RestoreOutcome.NOT_IN_TRASH;
    }
    boolean placed;
    try {
      Trash.verify(entry);
      placed = place(id, entry.blockSize(), entry.file());
    } catch (FragmentMismatchException e) {
      used.addAndGet(-entry.size());
      LOG.warn("restore of fragment {} refused: {}", id, e.getMessage());
      throw e;
    } catch (IOException | RuntimeException e) {
      used.addAndGet(-entry.size());
      trash.putBack(entry);
      throw e;
    }
    if (!placed) {
      // An upload of the same fragment committed meanwhile.
      used.addAndGet(-entry.size());
      Files.deleteIfExists(entry.file());
      return RestoreOutcome.ALREADY_STORED;
    }
    count.incrementAndGet();
    index.add(id.hex());
    LOG.info("fragment {} restored from the trash", id);
    return RestoreOutcome.RESTORED;
  }

  @Override
  public int purgeTrash() {
    return trash.purge(clock.instant().minus(trashFor));
  }

  @Override
  public long trashBytes() {
    return trash.bytes();
  }

  @Override
  public List<FragmentId> list() {
    return index.stream().map(FragmentId::new).toList();
  }

  @Override
  public List<FragmentId> list(String after, int limit) {
    return index.tailSet(after, false).stream().limit(limit).map(FragmentId::new).toList();
  }

  @Override
  public int blockSize(FragmentId id) throws IOException {
    Path p = pathOf(id).resolveSibling(id.hex() + BLOCK_SIZE_SUFFIX);
    try {
      return Integer.parseInt(Files.readString(p).strip());
    } catch (NumberFormatException e) {
      throw new IOException("block size file " + p + " is corrupt", e);
    }
  }

  @Override
  public void quarantine(FragmentId id) throws IOException {
    Path p = pathOf(id);
    Path aside = quarantine.resolve(id.hex());
    long replaced = Files.exists(aside) ? Files.size(aside) : 0;
    Files.move(p, aside, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    // Its age in quarantine starts now (the move keeps the fragment's own mtime).
    Files.setLastModifiedTime(aside, FileTime.from(Instant.now()));
    index.remove(id.hex());
    Files.deleteIfExists(p.resolveSibling(id.hex() + BLOCK_SIZE_SUFFIX));
    used.addAndGet(-replaced);
    count.decrementAndGet();
    LOG.warn("fragment {} quarantined in {}", id, quarantine);
  }

  @Override
  public int purgeQuarantine(Instant before) throws IOException {
    int purged = 0;
    try (Stream<Path> files = Files.list(quarantine)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (Files.getLastModifiedTime(p).toInstant().isBefore(before)) {
          long size = Files.size(p);
          if (Files.deleteIfExists(p)) {
            used.addAndGet(-size);
            purged++;
          }
        }
      }
    }
    return purged;
  }

  @Override
  public long usedBytes() {
    return used.get();
  }

  @Override
  public long capacityBytes() {
    return capacity;
  }

  @Override
  public int fragmentCount() {
    return count.get();
  }
}
