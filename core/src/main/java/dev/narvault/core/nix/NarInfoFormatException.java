package dev.narvault.core.nix;

/** A {@code .narinfo} that Nix would reject as corrupt, or that narvault cannot safely handle. */
public final class NarInfoFormatException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public NarInfoFormatException(String message) {
    super(message);
  }

  public NarInfoFormatException(String message, Throwable cause) {
    super(message, cause);
  }

  static NarInfoFormatException atLine(int line, String message) {
    return new NarInfoFormatException("narinfo line " + line + ": " + message);
  }
}
