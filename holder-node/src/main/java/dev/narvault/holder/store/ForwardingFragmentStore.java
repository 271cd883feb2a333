package dev.narvault.holder.store;

import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A store that hands every call to another one: the base for wrappers that change one behaviour
 * (tests inject full disks, lying reads or slow answers by overriding a single method).
 */
public abstract class ForwardingFragmentStore implements FragmentStore {
  private final FragmentStore delegate;

  protected ForwardingFragmentStore(FragmentStore delegate) {
    this.delegate = delegate;
  }

  protected final FragmentStore delegate() {
    return delegate;
  }

  @Override
  public Upload begin(FragmentId id, long length, int blockSize) throws IOException {
    return delegate.begin(id, length, blockSize);
  }

  @Override
  public Optional<FileChannel> open(FragmentId id) throws IOException {
    return delegate.open(id);
  }

  @Override
  public boolean delete(FragmentId id) throws IOException {
    return delegate.delete(id);
  }

  @Override
  public RestoreOutcome restore(FragmentId id) throws IOException {
    return delegate.restore(id);
  }

  @Override
  public int purgeTrash() throws IOException {
    return delegate.purgeTrash();
  }

  @Override
  public long trashBytes() {
    return delegate.trashBytes();
  }

  @Override
  public List<FragmentId> list() throws IOException {
    return delegate.list();
  }

  @Override
  public List<FragmentId> list(String after, int limit) throws IOException {
    return delegate.list(after, limit);
  }

  @Override
  public boolean contains(FragmentId id) throws IOException {
    return delegate.contains(id);
  }

  @Override
  public int purgeQuarantine(Instant before) throws IOException {
    return delegate.purgeQuarantine(before);
  }

  @Override
  public int blockSize(FragmentId id) throws IOException {
    return delegate.blockSize(id);
  }

  @Override
  public void quarantine(FragmentId id) throws IOException {
    delegate.quarantine(id);
  }

  @Override
  public long usedBytes() {
    return delegate.usedBytes();
  }

  @Override
  public long capacityBytes() {
    return delegate.capacityBytes();
  }

  @Override
  public int fragmentCount() {
    return delegate.fragmentCount();
  }
}
