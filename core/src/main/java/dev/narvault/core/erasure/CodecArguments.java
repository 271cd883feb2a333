package dev.narvault.core.erasure;

/** Argument checks shared by every {@link Codec}, done once at the public boundary. */
final class CodecArguments {
  static final int MAX_TOTAL_FRAGMENTS = 256;

  private CodecArguments() {}

  static void checkCounts(int dataFragmentCount, int parityFragmentCount) {
    if (dataFragmentCount < 1) {
      throw new IllegalArgumentException("dataFragmentCount must be >= 1, got " + dataFragmentCount);
    }
    if (parityFragmentCount < 1) {
      throw new IllegalArgumentException("parityFragmentCount must be >= 1, got " + parityFragmentCount);
    }
    if (dataFragmentCount + parityFragmentCount > MAX_TOTAL_FRAGMENTS) {
      throw new IllegalArgumentException("dataFragmentCount + parityFragmentCount must be <= 256, got "
          + dataFragmentCount + " + " + parityFragmentCount);
    }
  }

  /** Checks shape and range; {@code present == null} means all must be non-null (encode). */
  static int checkFragments(Codec codec, byte[][] fragments, boolean[] present, int offset, int length) {
    int total = codec.totalFragmentCount();
    if (fragments.length != total) {
      throw new IllegalArgumentException("expected " + total + " fragments, got " + fragments.length);
    }
    if (present != null && present.length != total) {
      throw new IllegalArgumentException("expected " + total + " present flags, got " + present.length);
    }
    if (offset < 0 || length < 0) {
      throw new IllegalArgumentException("offset and length must be >= 0, got " + offset + ", " + length);
    }
    int presentCount = 0;
    for (int i = 0; i < total; i++) {
      boolean isPresent = present == null || present[i];
      if (fragments[i] == null) {
        if (isPresent) {
          throw new IllegalArgumentException("fragment " + i + " is null but marked present");
        }
        continue;
      }
      if (fragments[i].length < (long) offset + length) {
        throw new IllegalArgumentException("fragment " + i + " has " + fragments[i].length
            + " bytes, range needs " + ((long) offset + length));
      }
      if (isPresent) {
        presentCount++;
      }
    }
    return presentCount;
  }
}
