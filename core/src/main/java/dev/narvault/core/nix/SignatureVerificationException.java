package dev.narvault.core.nix;

/** No trusted key produced a valid signature over the narinfo's (or manifest's) content. */
public final class SignatureVerificationException extends Exception {
  private static final long serialVersionUID = 1L;

  public SignatureVerificationException(String message) {
    super(message);
  }
}
