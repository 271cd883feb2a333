package dev.narvault.repair;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.repair.policy.HolderState;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Prometheus text the coordinator serves. */
class CoordinatorMetricsTest {
  @Test
  void holderGauge_labelsHoldersByTheLowercaseWord() {
    CoordinatorMetrics metrics = new CoordinatorMetrics();
    metrics.holdersByState(Map.of(HolderState.HEALTHY, 2L, HolderState.UNREACHABLE, 1L));
    String text = metrics.render();
    assertTrue(text.contains("\nnarvault_holders{state=\"healthy\"} 2\n"), text);
    assertTrue(text.contains("\nnarvault_holders{state=\"unreachable\"} 1\n"), text);
  }
}
