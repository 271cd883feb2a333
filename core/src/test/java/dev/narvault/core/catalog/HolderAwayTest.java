package dev.narvault.core.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class HolderAwayTest {
  private static final long DAY = Duration.ofDays(1).toMillis();
  private static final long T0 = 1_000 * DAY;

  @Test
  void declare_withinTheAllowance_spendsIt() {
    HolderAway a = HolderAway.NONE.declare(T0, T0 + 3 * DAY);
    assertTrue(a.away(T0 + 3 * DAY - 1));
    assertFalse(a.away(T0 + 3 * DAY));
    assertEquals(4 * DAY, a.allowanceAt(T0));
  }

  @Test
  void declare_longerThanSevenDays_isRefusedWhateverTheAllowance() {
    var e = assertThrows(IllegalArgumentException.class, () -> HolderAway.NONE.declare(T0, T0 + 7 * DAY + 1));
    assertTrue(e.getMessage().contains("at most 7 days"), e.getMessage());
  }

  @Test
  void declare_everyWeekend_runsOutOfAllowance_andNeverExceedsSevenDaysPerThirty() {
    // A holder away 2.5 days every week would be away a third of the time: the allowance
    // (7 days, refilled by 7 per 30) runs out within a few months, and the away time granted
    // over any run never exceeds the 7 days saved up plus the refill.
    HolderAway a = HolderAway.NONE;
    long weekend = 60 * 3_600_000L;
    int weeks = 16;
    int granted = 0;
    int refused = 0;
    for (int week = 0; week < weeks; week++) {
      long now = T0 + week * 7 * DAY;
      try {
        a = a.declare(now, now + weekend);
        granted++;
      } catch (IllegalArgumentException e) {
        assertTrue(e.getMessage().contains("of away time left"), e.getMessage());
        refused++;
      }
    }
    assertTrue(refused >= 3, "weekends refused: " + refused);
    long bound = 7 * DAY + (weeks * 7 * DAY) * 7 / 30;
    assertTrue(granted * weekend <= bound, granted + " weekends granted, more than " + bound / DAY + " days");
  }

  @Test
  void declare_backEarly_givesTheUnusedPartBack() {
    HolderAway a = HolderAway.NONE.declare(T0, T0 + 7 * DAY);
    assertEquals(0, a.allowanceAt(T0));
    HolderAway back = a.declare(T0 + DAY, T0 + DAY);
    assertFalse(back.away(T0 + DAY));
    // 6 days unused come back, plus the refill of one day (7/30 of a day).
    assertEquals(6 * DAY + DAY * 7 / 30, back.allowanceAt(T0 + DAY), 1);
  }

  @Test
  void declare_again_replacesTheAbsenceAndChargesOnlyTheDifference() {
    HolderAway a = HolderAway.NONE.declare(T0, T0 + 2 * DAY).declare(T0, T0 + 5 * DAY);
    assertEquals(T0 + 5 * DAY, a.untilMillis());
    assertEquals(2 * DAY, a.allowanceAt(T0));
  }

  @Test
  void allowance_refillsToSevenDaysAndNoFurther() {
    HolderAway a = HolderAway.NONE.declare(T0, T0 + 7 * DAY);
    assertEquals(7 * DAY / 30 * 15, a.allowanceAt(T0 + 15 * DAY), 1_000);
    assertEquals(7 * DAY, a.allowanceAt(T0 + 300 * DAY));
  }
}
