package dev.narvault.repair;

/** A holder message the coordinator refuses, with the HTTP status that says why. */
public final class MembershipException extends Exception {
  private static final long serialVersionUID = 1L;
  private final int status;

  public MembershipException(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
