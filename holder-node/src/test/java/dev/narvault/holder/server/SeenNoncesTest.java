package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The order journal: each nonce once, across restarts, and room to record orders on a full disk. */
class SeenNoncesTest {
  private static final Instant NOW = Instant.parse("2026-12-01T10:00:00Z");
  private static final Instant LATER = NOW.plusSeconds(600);

  @TempDir
  Path dir;

  private static String nonce(int i) {
    return HexFormat.of().formatHex(new byte[12]) + String.format("%08x", i);
  }

  @Test
  void firstUse_writesOverSpaceSetAsideAtStart_soTheJournalDoesNotGrow() throws Exception {
    Path file = dir.resolve("orders-seen.log");
    try (SeenNonces nonces = SeenNonces.journaled(file, NOW)) {
      long size = Files.size(file);
      assertEquals(SeenNonces.SLACK, size, "an empty journal is all slack");
      for (int i = 0; i < 100; i++) {
        assertTrue(nonces.firstUse(nonce(i), LATER, NOW));
      }
      assertFalse(nonces.firstUse(nonce(7), LATER, NOW));
      assertEquals(size, Files.size(file), "100 orders recorded without allocating a byte");
    }
    try (SeenNonces nonces = SeenNonces.journaled(file, NOW)) {
      for (int i = 0; i < 100; i++) {
        assertFalse(nonces.firstUse(nonce(i), LATER, NOW), "nonce " + i + " remembered across a restart");
      }
      assertTrue(nonces.firstUse(nonce(100), LATER, NOW));
    }
  }

  @Test
  void firstUse_pastTheSlack_growsTheJournal_andKeepsEveryNonce() throws Exception {
    Path file = dir.resolve("orders-seen.log");
    try (SeenNonces nonces = SeenNonces.journaled(file, NOW)) {
      for (int i = 0; i < 3000; i++) {
        assertTrue(nonces.firstUse(nonce(i), LATER, NOW));
      }
      assertTrue(Files.size(file) > SeenNonces.SLACK);
    }
    try (SeenNonces nonces = SeenNonces.journaled(file, NOW)) {
      for (int i = 0; i < 3000; i++) {
        assertFalse(nonces.firstUse(nonce(i), LATER, NOW), "nonce " + i);
      }
    }
    try (SeenNonces nonces = SeenNonces.journaled(file, LATER)) {
      assertTrue(nonces.firstUse(nonce(1), LATER.plusSeconds(600), LATER), "expired orders are forgotten");
    }
  }
}
