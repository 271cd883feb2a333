package dev.narvault.core.holder;

import java.io.IOException;

/**
 * A holder answered, but not with what was asked: an HTTP status other than success (404: it does
 * not have the fragment). Unlike a refused connection or a timeout, this is the holder's own word.
 */
public final class HolderRefusedException extends IOException {
  private static final long serialVersionUID = 1L;
  private final int status;

  public HolderRefusedException(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
