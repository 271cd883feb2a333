package dev.narvault.cli.e2e;

import dev.narvault.core.pack.FragmentId;
import dev.narvault.holder.store.ForwardingFragmentStore;
import dev.narvault.holder.store.FragmentStore;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A holder's store that can be told to misbehave on reads: serve every fragment with its bytes
 * flipped (a lying holder), or answer slowly. Writes and everything else go to the real store.
 */
final class FaultyStore extends ForwardingFragmentStore {
  enum Mode { HONEST, LYING, SLOW }

  private final Path scratch;
  volatile Mode mode = Mode.HONEST;
  /** How long a SLOW store waits before answering. */
  volatile long slowMillis = 300;
  /** When not negative, the used bytes this store reports (a holder lying about its disk). */
  volatile long reportedUsedBytes = -1;
  /** Fragment opens (one per read request) since the last reset. */
  final java.util.concurrent.atomic.AtomicInteger opens = new java.util.concurrent.atomic.AtomicInteger();

  FaultyStore(FragmentStore real, Path scratch) throws IOException {
    super(real);
    this.scratch = Files.createDirectories(scratch);
  }

  @Override
  public long usedBytes() {
    long lie = reportedUsedBytes;
    return lie >= 0 ? lie : delegate().usedBytes();
  }

  @Override
  public Optional<FileChannel> open(FragmentId id) throws IOException {
    opens.incrementAndGet();
    Optional<FileChannel> opened = delegate().open(id);
    switch (mode) {
      case HONEST -> {
        return opened;
      }
      case SLOW -> {
        try {
          Thread.sleep(slowMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException();
        }
        return opened;
      }
      case LYING -> {
        if (opened.isEmpty()) {
          return opened;
        }
        ByteBuffer all;
        try (FileChannel ch = opened.get()) {
          all = ByteBuffer.allocate((int) ch.size());
          while (all.hasRemaining() && ch.read(all) >= 0) {
            // read all
          }
        }
        for (int i = 0; i < all.capacity(); i++) {
          all.put(i, (byte) (all.get(i) ^ 0x5a));
        }
        Path lie = Files.createTempFile(scratch, "lie-", ".bin");
        Files.write(lie, all.array());
        return Optional.of(FileChannel.open(lie, StandardOpenOption.READ, StandardOpenOption.DELETE_ON_CLOSE));
      }
      default -> throw new IllegalStateException();
    }
  }
}
