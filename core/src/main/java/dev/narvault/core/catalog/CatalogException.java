package dev.narvault.core.catalog;

import java.io.IOException;

/** The catalog database failed or holds something unexpected. */
public final class CatalogException extends IOException {
  private static final long serialVersionUID = 1L;

  public CatalogException(String message, Throwable cause) {
    super(message, cause);
  }

  public CatalogException(String message) {
    super(message);
  }
}
