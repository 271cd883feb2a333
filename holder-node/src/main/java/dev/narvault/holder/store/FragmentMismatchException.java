package dev.narvault.holder.store;

import java.io.IOException;

/** Bytes do not match their fragment id: an upload's, or a trashed copy's on restore. */
public final class FragmentMismatchException extends IOException {
  private static final long serialVersionUID = 1L;

  public FragmentMismatchException(String message) {
    super(message);
  }
}
