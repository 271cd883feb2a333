package dev.narvault.holder.store;

import java.io.IOException;

/** Uploaded bytes do not match the fragment id they were sent under. */
public final class FragmentMismatchException extends IOException {
  private static final long serialVersionUID = 1L;

  public FragmentMismatchException(String message) {
    super(message);
  }
}
