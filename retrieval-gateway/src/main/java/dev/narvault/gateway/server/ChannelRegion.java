package dev.narvault.gateway.server;

import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Bytes {@code [position, position + count)} of a file sent to a socket by the kernel
 * ({@link FileChannel#transferTo}: {@code sendfile} on Linux), through a channel the caller keeps
 * and closes: Netty's {@code DefaultFileRegion} closes its channel when it is released, and a
 * follower of a rebuild reads the same channel again for the next bytes (the file itself may be
 * deleted meanwhile). The bytes were verified before they were written to the file; this only
 * moves them.
 */
final class ChannelRegion extends AbstractReferenceCounted implements FileRegion {
  private final FileChannel channel;
  private final long position;
  private final long count;
  private long transferred;

  ChannelRegion(FileChannel channel, long position, long count) {
    if (position < 0 || count < 0) {
      throw new IllegalArgumentException("position and count must be >= 0, got " + position + ", " + count);
    }
    this.channel = channel;
    this.position = position;
    this.count = count;
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  public long count() {
    return count;
  }

  @Override
  public long transferred() {
    return transferred;
  }

  @Override
  @Deprecated
  public long transfered() {
    return transferred;
  }

  @Override
  public long transferTo(WritableByteChannel target, long at) throws IOException {
    long left = count - at;
    if (left < 0 || at < 0) {
      throw new IllegalArgumentException("at must be in [0, " + count + "], got " + at);
    }
    if (left == 0) {
      return 0;
    }
    long sent = channel.transferTo(position + at, left, target);
    if (sent > 0) {
      transferred += sent;
    } else if (channel.size() < position + count) {
      // Nothing sent because the file ends early (cut short on disk): fail, never wait forever.
      throw new IOException("file ends at " + channel.size() + ", before " + (position + count));
    }
    return sent;
  }

  @Override
  public FileRegion retain() {
    super.retain();
    return this;
  }

  @Override
  public FileRegion retain(int increment) {
    super.retain(increment);
    return this;
  }

  @Override
  public FileRegion touch() {
    return this;
  }

  @Override
  public FileRegion touch(Object hint) {
    return this;
  }

  @Override
  protected void deallocate() {
    // The channel is the caller's to close.
  }
}
