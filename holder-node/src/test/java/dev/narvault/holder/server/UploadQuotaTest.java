package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderMessages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monthly upload quota on its own: a fake clock, saves run when the test says. */
class UploadQuotaTest {
  private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-03-31T22:00:00Z"));
  private final InstantSource clock = now::get;
  /** Saves the quota asks for, run by {@link #runSaves}. */
  private final List<Runnable> saves = new ArrayList<>();

  @TempDir
  Path dir;

  private UploadQuota open(long quotaBytes) throws IOException {
    return UploadQuota.open(dir, quotaBytes, clock, saves::add);
  }

  private void runSaves() {
    saves.forEach(Runnable::run);
    saves.clear();
  }

  @Test
  void charge_servesWhatFits_refusesWhatDoesNot_andCountsNothingForARefusal() throws Exception {
    UploadQuota quota = open(1000);
    quota.charge(600);
    quota.charge(400);
    UploadQuota.Exhausted e = assertThrows(UploadQuota.Exhausted.class, () -> quota.charge(1));
    assertTrue(e.getMessage().contains("1000 of 1000 bytes served"), e.getMessage());
    assertEquals(new HolderMessages.QuotaUse("2026-03", 1000, 1000), quota.use());
    // Two hours to 2026-04-01T00:00Z.
    assertEquals(7200, e.retryAfterSeconds(clock.instant()));
  }

  @Test
  void charge_aReadLargerThanWhatIsLeft_isRefused_whileASmallerOneStillFits() throws Exception {
    UploadQuota quota = open(1000);
    quota.charge(900);
    assertThrows(UploadQuota.Exhausted.class, () -> quota.charge(101));
    quota.charge(100);
    assertEquals(1000, quota.use().servedBytes(), "never past the quota");
  }

  @Test
  void charge_inTheNextMonth_servesAgain_fromZero() throws Exception {
    UploadQuota quota = open(1000);
    quota.charge(1000);
    assertThrows(UploadQuota.Exhausted.class, () -> quota.charge(1));
    now.set(Instant.parse("2026-03-31T23:59:59.999Z"));
    assertEquals(1, assertThrows(UploadQuota.Exhausted.class, () -> quota.charge(1))
        .retryAfterSeconds(clock.instant()), "a millisecond rounds up to a second");
    now.set(Instant.parse("2026-04-01T00:00:00Z"));
    quota.charge(1000);
    assertEquals(new HolderMessages.QuotaUse("2026-04", 1000, 1000), quota.use());
  }

  @Test
  void aClockTurnedBack_keepsCountingTheLaterMonth() throws Exception {
    UploadQuota quota = open(1000);
    now.set(Instant.parse("2026-04-02T00:00:00Z"));
    quota.charge(700);
    now.set(Instant.parse("2026-03-31T23:00:00Z"));
    assertThrows(UploadQuota.Exhausted.class, () -> quota.charge(301));
    assertEquals(new HolderMessages.QuotaUse("2026-04", 700, 1000), quota.use());
  }

  @Test
  void noQuota_refusesNothing_butCountsTheMonth() throws Exception {
    UploadQuota quota = open(0);
    quota.charge(Long.MAX_VALUE / 2);
    quota.charge(Long.MAX_VALUE / 4);
    assertEquals(new HolderMessages.QuotaUse("2026-03", Long.MAX_VALUE / 2 + Long.MAX_VALUE / 4, 0), quota.use());
  }

  @Test
  void theCount_isSavedEveryFewMiB_andAtSave_andSurvivesReopening() throws Exception {
    UploadQuota quota = open(1L << 30);
    quota.charge(UploadQuota.SAVE_EVERY_BYTES - 1);
    assertTrue(saves.isEmpty(), "not due yet");
    quota.charge(1);
    assertEquals(1, saves.size(), "due: handed to the saver, not written on the reading thread");
    assertFalse(Files.exists(dir.resolve(UploadQuota.FILE)));
    quota.charge(5);
    assertEquals(1, saves.size(), "one save queued at a time");
    runSaves();
    assertEquals(UploadQuota.SAVE_EVERY_BYTES + 5, open(1L << 30).use().servedBytes());
    quota.charge(10);
    quota.save();
    assertEquals(new HolderMessages.QuotaUse("2026-03", UploadQuota.SAVE_EVERY_BYTES + 15, 1L << 20),
        open(1L << 20).use(), "the count is the month's; the quota is the configuration's");
    assertFalse(Files.exists(dir.resolve(UploadQuota.FILE + ".tmp")));
  }

  @Test
  void aSavedCountOfAnEarlierMonth_isForgottenOnceTheMonthTurns() throws Exception {
    UploadQuota quota = open(1000);
    quota.charge(1000);
    quota.save();
    now.updateAndGet(t -> t.plus(Duration.ofHours(3)));
    UploadQuota reopened = open(1000);
    assertEquals(new HolderMessages.QuotaUse("2026-04", 0, 1000), reopened.use());
    reopened.charge(1);
    assertEquals(1, saves.size(), "a new month is written down at once");
  }

  @Test
  void open_aFileThatIsNoCount_failsNamingIt() throws Exception {
    for (String bad : List.of("", "{\"month\":\"2026-13\",\"servedBytes\":1}", "{\"month\":\"2026-03\",\"servedBytes\":-1}",
        "{\"month\":\"2026-03\"}")) {
      Files.writeString(dir.resolve(UploadQuota.FILE), bad);
      IOException e = assertThrows(IOException.class, () -> open(1000), bad);
      assertTrue(e.getMessage().contains(UploadQuota.FILE) && e.getMessage().contains("delete it"), e.getMessage());
    }
  }

  @Test
  void open_aNegativeQuota_isRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open(-1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
  }
}
