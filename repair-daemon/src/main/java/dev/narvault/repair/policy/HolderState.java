package dev.narvault.repair.policy;

import java.util.Locale;

/**
 * How the coordinator judges a holder now, from its catalog row and the time
 * ({@link HolderRules#state}): what the {@code narvault_holders} gauge counts and listings show.
 * The first that applies, in this order.
 */
public enum HolderState {
  /** Not live, but within an absence it declared ({@code POST /v1/away}): not counted offline yet. */
  AWAY,
  /** Not heard from (no signed heartbeat) within the offline window. */
  OFFLINE,
  /** Heartbeats, but its endpoint was not reached within the offline window. */
  UNREACHABLE,
  /** Announced it is leaving. */
  EXITING,
  /** Disqualified for good by its audits. */
  DISQUALIFIED,
  /** Its audits fell below the suspect line. */
  SUSPECT,
  /** Too many timeouts, refusals or 5xx answers. */
  SUSPENDED,
  /** Healthy but not yet vetted. */
  VETTING,
  /** Healthy and vetted. */
  HEALTHY;

  /** The lowercase word metrics and listings print: {@code offline}, {@code unreachable}, … */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** {@link #label()}. */
  @Override
  public String toString() {
    return label();
  }
}
