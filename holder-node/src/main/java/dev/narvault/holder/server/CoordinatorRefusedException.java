package dev.narvault.holder.server;

import java.io.IOException;

/** The coordinator answered, and refused: an HTTP status other than 200, with its reason. */
final class CoordinatorRefusedException extends IOException {
  private final int status;
  private final String reason;

  CoordinatorRefusedException(String what, int status, String reason) {
    super(what + " answered " + status + ": " + reason);
    this.status = status;
    this.reason = reason;
  }

  int status() {
    return status;
  }

  /** The coordinator's own words. */
  String reason() {
    return reason;
  }
}
