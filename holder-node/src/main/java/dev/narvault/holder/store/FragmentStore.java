package dev.narvault.holder.store;

import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Where a holder keeps fragments. Implementations are thread-safe; a fragment becomes visible
 * only when its upload commits, whole and verified.
 */
public interface FragmentStore {
  /** An upload in progress: bytes go to a temporary place until {@link #commit()}. */
  interface Upload extends AutoCloseable {
    void write(ByteBuffer bytes) throws IOException;

    /**
     * Verifies the bytes against the fragment id and makes the fragment visible.
     *
     * @return false when the fragment was already stored (the upload was a harmless repeat)
     * @throws FragmentMismatchException when the bytes do not hash to the id
     */
    boolean commit() throws IOException;

    /** Discards an uncommitted upload; harmless after commit. */
    @Override
    void close() throws IOException;
  }

  /**
   * Starts an upload of {@code length} bytes, reserving the space.
   *
   * @throws StoreFullException when the bytes do not fit within the capacity
   */
  Upload begin(FragmentId id, long length, int blockSize) throws IOException;

  /** Opens a stored fragment for reading, or empty when this holder does not have it. */
  Optional<FileChannel> open(FragmentId id) throws IOException;

  /** Whether this holder stores the fragment (and serves it). */
  default boolean contains(FragmentId id) throws IOException {
    Optional<FileChannel> file = open(id);
    file.ifPresent(f -> {
      try {
        f.close();
      } catch (IOException ignored) {
        // read-only channel: nothing to lose
      }
    });
    return file.isPresent();
  }

  /**
   * Takes a stored fragment out of service into the trash: no longer served, listed, audited or
   * counted, restorable by {@link #restore} until the trash is purged (or at once deleted, for a
   * store that keeps no trash). Needs no free space.
   *
   * @return false when the fragment was not stored
   */
  boolean delete(FragmentId id) throws IOException;

  /** What {@link #restore} found. */
  enum RestoreOutcome {
    /** The trashed copy verified against its id and is stored again. */
    RESTORED,
    /** The fragment was stored already (nothing changed). */
    ALREADY_STORED,
    /** The fragment is neither stored nor in the trash. */
    NOT_IN_TRASH
  }

  /**
   * Brings a trashed fragment back into service once its bytes verify against its id again.
   *
   * @throws FragmentMismatchException when the trashed copy is corrupt (it is deleted)
   * @throws StoreFullException when it does not fit within the capacity
   */
  RestoreOutcome restore(FragmentId id) throws IOException;

  /** Deletes what has been in the trash longer than the store keeps it; returns how many. */
  int purgeTrash() throws IOException;

  /** Bytes of deleted fragments in the trash: not counted in {@link #usedBytes}. */
  long trashBytes();

  /** Every stored fragment's id. */
  List<FragmentId> list() throws IOException;

  /** At most {@code limit} stored ids after {@code after} (hex; "" from the start), in order. */
  default List<FragmentId> list(String after, int limit) throws IOException {
    return list().stream().filter(id -> id.hex().compareTo(after) > 0).sorted(Comparator.comparing(FragmentId::hex))
        .limit(limit).toList();
  }

  /** The block size a stored fragment's id was computed with. */
  int blockSize(FragmentId id) throws IOException;

  /**
   * Moves a fragment found corrupt out of service: kept aside for inspection, no longer served or
   * counted as a fragment, but its bytes still count against the capacity until purged.
   */
  void quarantine(FragmentId id) throws IOException;

  /** Deletes quarantined fragments set aside before {@code before}; returns how many. */
  int purgeQuarantine(Instant before) throws IOException;

  long usedBytes();

  long capacityBytes();

  int fragmentCount();
}
