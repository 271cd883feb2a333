package dev.narvault.core.nix;

import java.io.IOException;

/** A NAR object's bytes do not match what its signed narinfo says. */
public final class NarVerificationException extends IOException {
  private static final long serialVersionUID = 1L;

  public NarVerificationException(String message) {
    super(message);
  }

  public NarVerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
