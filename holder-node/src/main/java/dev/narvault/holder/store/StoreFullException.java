package dev.narvault.holder.store;

import java.io.IOException;

/** Accepting a fragment would exceed the holder's capacity. */
public final class StoreFullException extends IOException {
  private static final long serialVersionUID = 1L;

  public StoreFullException(long needed, long free) {
    super("not enough space: fragment needs " + needed + " bytes, " + free + " free within the capacity");
  }
}
