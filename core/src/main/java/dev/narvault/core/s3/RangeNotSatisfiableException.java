package dev.narvault.core.s3;

import java.io.IOException;

/** The store refused a range that lies outside the object (HTTP 416). */
public final class RangeNotSatisfiableException extends IOException {
  private static final long serialVersionUID = 1L;

  private final long objectLength;

  public RangeNotSatisfiableException(String key, long objectLength) {
    super("range outside " + key + (objectLength >= 0 ? " (" + objectLength + " bytes)" : ""));
    this.objectLength = objectLength;
  }

  /** The object's length, or -1 when the store did not say. */
  public long objectLength() {
    return objectLength;
  }
}
