package dev.narvault.core.pack;

import java.io.IOException;

/** Bytes read for a fragment do not match its block hash. */
public final class FragmentCorruptException extends IOException {
  private static final long serialVersionUID = 1L;

  public FragmentCorruptException(int fragmentIndex, int block) {
    super("fragment " + fragmentIndex + " block " + block + " does not match its hash");
  }
}
