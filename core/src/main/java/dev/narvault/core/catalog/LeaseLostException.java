package dev.narvault.core.catalog;

/**
 * A lease ({@link Leases}) this owner was working under is no longer its own: it expired and
 * another owner took it over. The work must stop before its next step that cannot be undone.
 */
public final class LeaseLostException extends CatalogException {
  private static final long serialVersionUID = 1L;

  public LeaseLostException(String message) {
    super(message);
  }
}
