package dev.narvault.core.catalog;

import java.io.IOException;

/**
 * The catalog database failed or holds something unexpected. Two subclasses: {@link
 * CommitOutcomeUnknownException}, a change that may or may not have been applied, and {@link
 * LeaseLostException}, work whose lease another owner took over.
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
