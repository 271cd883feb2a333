package dev.narvault.core.erasure;

import com.backblaze.erasure.ReedSolomon;

/** The reference {@link Codec}: delegates to Backblaze JavaReedSolomon. */
public final class BackblazeCodec implements Codec {
  private final ReedSolomon reedSolomon;

  public BackblazeCodec(int dataFragmentCount, int parityFragmentCount) {
    CodecArguments.checkCounts(dataFragmentCount, parityFragmentCount);
    this.reedSolomon = ReedSolomon.create(dataFragmentCount, parityFragmentCount);
  }

  @Override
  public int dataFragmentCount() {
    return reedSolomon.getDataShardCount();
  }

  @Override
  public int parityFragmentCount() {
    return reedSolomon.getParityShardCount();
  }

  @Override
  public String name() {
    return "backblaze";
  }

  @Override
  public void encodeParity(byte[][] fragments, int offset, int length) {
    CodecArguments.checkFragments(this, fragments, null, offset, length);
    reedSolomon.encodeParity(fragments, offset, length);
  }

  @Override
  public void reconstruct(byte[][] fragments, boolean[] present, int offset, int length)
      throws NotEnoughFragmentsException {
    int available = CodecArguments.checkFragments(this, fragments, present, offset, length);
    if (available < dataFragmentCount()) {
      throw new NotEnoughFragmentsException(available, dataFragmentCount());
    }
    // Backblaze fills every missing fragment and needs an array for each: lend scratch space
    // for the unwanted ones, and leave the caller's arrays as they were.
    byte[][] work = fragments.clone();
    for (int i = 0; i < work.length; i++) {
      if (work[i] == null) {
        work[i] = new byte[offset + length];
      }
    }
    reedSolomon.decodeMissing(work, present.clone(), offset, length);
  }
}
