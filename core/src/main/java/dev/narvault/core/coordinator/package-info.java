/**
 * Talking to the coordinator, the one placement authority: workers (migrate, repair) ask it where
 * a pack's fragments go ({@link dev.narvault.core.coordinator.PlacementAuthority}) and get one
 * signed order per fragment; {@link dev.narvault.core.coordinator.FragmentPlacer} uploads them,
 * asking again for the ones that fail. Start with {@code FragmentPlacer}; the wire messages are
 * records in {@link dev.narvault.core.coordinator.CoordinatorMessages}.
 */
package dev.narvault.core.coordinator;
