package dev.narvault.core.erasure;

import java.io.IOException;

/** Fewer than {@code dataFragmentCount} fragments were available: the data cannot be rebuilt. */
public final class NotEnoughFragmentsException extends IOException {
  private static final long serialVersionUID = 1L;

  public NotEnoughFragmentsException(int available, int needed) {
    super("only " + available + " fragments available, " + needed + " needed to reconstruct");
  }

  public NotEnoughFragmentsException(String message) {
    super(message);
  }
}
