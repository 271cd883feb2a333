package dev.narvault.core.catalog;

import java.io.IOException;

/**
 * The catalog database failed or holds something unexpected. One subclass, {@link
 * CommitOutcomeUnknownException}: a change that may or may not have been applied.
 */
public class CatalogException extends IOException {
  private static final long serialVersionUID = 1L;

  public CatalogException(String message, Throwable cause) {
    super(message, cause);
  }

  public CatalogException(String message) {
    super(message);
  }
}
