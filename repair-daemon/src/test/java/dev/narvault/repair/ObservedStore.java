package dev.narvault.repair;

import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.ForwardingFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A holder's real store, watched: counts fragment opens (the holder opens a fragment once for
 * every read it serves, an audit's included), uploads and deletes of each fragment, and runs
 * hooks before each upload, open and delete, so a test can make something happen in the middle
 * of a round (between two of the garbage collector's deletes, or while repair uploads).
 */
final class ObservedStore extends ForwardingFragmentStore {
  final AtomicInteger opens = new AtomicInteger();
  volatile Consumer<FragmentId> beforeDelete = id -> { };
  volatile Consumer<FragmentId> beforeUpload = id -> { };
  volatile Consumer<FragmentId> beforeOpen = id -> { };
  /** Uploads begun and deletes asked for, by fragment id. */
  final java.util.Map<FragmentId, AtomicInteger> uploads = new java.util.concurrent.ConcurrentHashMap<>();
  final java.util.Map<FragmentId, AtomicInteger> deletes = new java.util.concurrent.ConcurrentHashMap<>();

  ObservedStore(FragmentStore real) {
    super(real);
  }

  @Override
  public Upload begin(FragmentId id, long length, int blockSize) throws IOException {
    uploads.computeIfAbsent(id, x -> new AtomicInteger()).incrementAndGet();
    beforeUpload.accept(id);
    return delegate().begin(id, length, blockSize);
  }

  @Override
  public Optional<FileChannel> open(FragmentId id) throws IOException {
    opens.incrementAndGet();
    beforeOpen.accept(id);
    return delegate().open(id);
  }

  @Override
  public boolean delete(FragmentId id) throws IOException {
    deletes.computeIfAbsent(id, x -> new AtomicInteger()).incrementAndGet();
    beforeDelete.accept(id);
    return delegate().delete(id);
  }
}
