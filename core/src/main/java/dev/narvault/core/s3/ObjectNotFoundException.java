package dev.narvault.core.s3;

import java.io.IOException;

/** The object store answered that the key does not exist (S3 says 404, or 403 without list rights). */
public final class ObjectNotFoundException extends IOException {
  private static final long serialVersionUID = 1L;

  public ObjectNotFoundException(String key) {
    super("no such object: " + key);
  }
}
