package dev.narvault.core.erasure;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;

/**
 * Wraps a {@link Codec} to split each call's byte range across threads: Reed-Solomon works
 * position by position, so disjoint ranges are independent. The caller's thread does one part
 * itself; ranges shorter than {@code 2 · minPart} are not split.
 */
public final class ParallelCodec implements Codec {
  /** Below this, a part is not worth a thread hand-off. */
  public static final int DEFAULT_MIN_PART = 64 * 1024;

  private final Codec delegate;
  private final Executor executor;
  private final int parallelism;
  private final int minPart;

  public ParallelCodec(Codec delegate, Executor executor, int parallelism, int minPart) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
    }
    if (minPart < 64) {
      throw new IllegalArgumentException("minPart must be >= 64, got " + minPart);
    }
    this.delegate = delegate;
    this.executor = executor;
    this.parallelism = parallelism;
    this.minPart = minPart;
  }

  @Override
  public int dataFragmentCount() {
    return delegate.dataFragmentCount();
  }

  @Override
  public int parityFragmentCount() {
    return delegate.parityFragmentCount();
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @FunctionalInterface
  private interface RangeOp {
    void run(int offset, int length) throws NotEnoughFragmentsException;
  }

  @Override
  public void encodeParity(byte[][] fragments, int offset, int length) {
    try {
      split(offset, length, (o, l) -> delegate.encodeParity(fragments, o, l));
    } catch (NotEnoughFragmentsException e) {
      throw new IllegalStateException("encoding cannot lack fragments", e);
    }
  }

  @Override
  public void reconstruct(byte[][] fragments, boolean[] present, int offset, int length)
      throws NotEnoughFragmentsException {
    CodecArguments.checkFragments(this, fragments, present, offset, length);
    split(offset, length, (o, l) -> delegate.reconstruct(fragments, present, o, l));
  }

  private void split(int offset, int length, RangeOp op) throws NotEnoughFragmentsException {
    int parts = (int) Math.min(parallelism, length / (long) minPart);
    if (parts <= 1) {
      op.run(offset, length);
      return;
    }
    // Parts are multiples of 64 bytes so each thread's vectors are whole; the last takes the rest.
    int part = (length / parts) & ~63;
    List<FutureTask<Void>> tasks = new ArrayList<>();
    for (int p = 0; p < parts - 1; p++) {
      int o = offset + p * part;
      FutureTask<Void> task = new FutureTask<>(() -> {
        op.run(o, part);
        return null;
      });
      tasks.add(task);
      executor.execute(task);
    }
    op.run(offset + (parts - 1) * part, length - (parts - 1) * part);
    for (FutureTask<Void> task : tasks) {
      try {
        task.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while coding", e);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof NotEnoughFragmentsException n) {
          throw n;
        }
        if (e.getCause() instanceof RuntimeException r) {
          throw r;
        }
        throw new IllegalStateException(e.getCause());
      }
    }
  }
}
