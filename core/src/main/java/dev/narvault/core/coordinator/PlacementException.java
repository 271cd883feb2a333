package dev.narvault.core.coordinator;

import java.io.IOException;

/** The coordinator cannot place fragments under its rules (too few eligible holders), or refused. */
public final class PlacementException extends IOException {
  private static final long serialVersionUID = 1L;

  public PlacementException(String message) {
    super(message);
  }
}
