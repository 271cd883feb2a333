package dev.narvault.encoder.input;

import java.io.IOException;

/** Reading a run's narinfo keys failed part way (a listing request, a file); the run stops with the cause. */
public final class InputFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InputFailedException(IOException cause) {
    super(cause.getMessage(), cause);
  }

  /** The I/O failure itself. */
  public IOException io() {
    return (IOException) getCause();
  }
}
