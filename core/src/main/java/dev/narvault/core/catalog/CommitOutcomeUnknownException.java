package dev.narvault.core.catalog;

/**
 * The connection to the catalog broke after a change was sent (at or after a commit, or with a
 * change in autocommit mode): it may have been applied, or not. The catalog never retries such a
 * call itself; a caller that tries again must first look at what the catalog now holds (every
 * journal advance, for one, names the state it moves from, so repeating one is refused rather
 * than applied twice).
 */
public final class CommitOutcomeUnknownException extends CatalogException {
  private static final long serialVersionUID = 1L;

  public CommitOutcomeUnknownException(String message, Throwable cause) {
    super(message, cause);
  }
}
