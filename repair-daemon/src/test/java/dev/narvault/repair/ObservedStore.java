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
 * every read it serves, an audit's included), and runs a hook before each delete, so a test can
 * make something happen between two of the garbage collector's deletes.
 */
final class ObservedStore extends ForwardingFragmentStore {
  final AtomicInteger opens = new AtomicInteger();
  volatile Consumer<FragmentId> beforeDelete = id -> { };

  ObservedStore(FragmentStore real) {
    super(real);
  }

  @Override
  public Optional<FileChannel> open(FragmentId id) throws IOException {
    opens.incrementAndGet();
    return delegate().open(id);
  }

  @Override
  public boolean delete(FragmentId id) throws IOException {
    beforeDelete.accept(id);
    return delegate().delete(id);
  }
}
