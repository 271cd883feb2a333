package dev.narvault.repair;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.repair.policy.HolderState;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Membership over the coordinator's HTTP API: a registration counts only once its endpoint is
 * proven, and a heartbeat from a holder not reached for a quarter of {@code --offline-after} proves
 * it again, so that a holder that heartbeats but cannot be reached goes offline.
 */
class MembershipTest {
  private static final Duration REPROVE_AFTER = CoordinatorFixture.OFFLINE_AFTER.dividedBy(4);

  @TempDir
  Path dir;

  @Test
  void register_endpointNobodyAnswersAt_is400AndNothingIsRecorded() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 0)) {
      NixSecretKey key = NixSecretKey.generate("narvault-holder", new SecureRandom());
      assertEquals(400, f.register(key, URI.create("http://127.0.77.1:1")));
      assertTrue(f.catalog.holder(HolderIdentity.holderId(key.publicKey())).isEmpty());
    }
  }

  @Test
  void register_endpointOfAnotherHoldersKey_is400AndNothingIsRecorded() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 1)) {
      NixSecretKey stranger = NixSecretKey.generate("narvault-holder", new SecureRandom());
      assertEquals(400, f.register(stranger, f.holders.getFirst().endpoint),
          "the coordinator connects back and finds another key there");
      assertTrue(f.catalog.holder(HolderIdentity.holderId(stranger.publicKey())).isEmpty());
    }
  }

  @Test
  void register_endpointBehindAProxyAnswering502_is400() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 0)) {
      CoordinatorFixture.Holder h = f.startHolder(true);
      h.proxy.orElseThrow().answerBadGateway(true);
      assertEquals(400, f.register(h.identity, h.endpoint));
      assertTrue(f.catalog.holder(h.id()).isEmpty());
      h.proxy.orElseThrow().answerBadGateway(false);
      assertEquals(200, f.register(h.identity, h.endpoint));
      assertEquals("127.1.0.1", f.record(h).seenAddress(), "the proven address is the proxy's");
    }
  }

  @Test
  void heartbeat_reprovesOnlyAfterAQuarterOfOfflineAfter_andAFailedProofIs503WithContactRecordedFalse()
      throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 0)) {
      CoordinatorFixture.Holder h = f.addHolderBehindProxy();
      long registered = f.clock.millis();
      assertEquals(registered, f.record(h).reachedMillis(), "registration proved the endpoint");

      f.clock.advance(REPROVE_AFTER.minusMillis(1));
      assertEquals(200, f.heartbeat(h));
      assertEquals(registered, f.record(h).reachedMillis(), "reached lately: no proof");

      f.clock.advance(Duration.ofMillis(1));
      assertEquals(200, f.heartbeat(h));
      assertEquals(f.clock.millis(), f.record(h).reachedMillis(), "not reached for a quarter: proven again");
      long reached = f.clock.millis();

      h.proxy.orElseThrow().answerBadGateway(true);
      f.clock.advance(REPROVE_AFTER);
      assertEquals(503, f.heartbeat(h), "heartbeat recorded, but the holder cannot be reached");
      HolderRecord after = f.record(h);
      assertEquals(f.clock.millis(), after.lastSeenMillis(), "the heartbeat itself counts as heard");
      assertEquals(reached, after.reachedMillis());
      assertTrue(after.suspension().value() < 1.0, "the failed contact is recorded: " + after.suspension());
      assertEquals(1.0, after.audit().value(), "a proxy's 502 is no audit failure");
      assertTrue(h.proxy.orElseThrow().badGatewayAnswers.get() >= 1);
    }
  }

  @Test
  void heartbeat_fromAHolderThatCannotBeReached_leavesItOfflineAfterOfflineAfter_untilReachedAgain()
      throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir, 0)) {
      CoordinatorFixture.Holder h = f.addHolderBehindProxy();
      h.proxy.orElseThrow().answerBadGateway(true);
      f.elapse(CoordinatorFixture.OFFLINE_AFTER);
      assertTrue(f.rules.live(f.record(h), f.clock.millis()), "reached just within --offline-after");
      f.elapse(Duration.ofMillis(1));
      HolderRecord unreachable = f.record(h);
      assertTrue(f.rules.heard(unreachable, f.clock.millis()), "it heartbeats");
      assertFalse(f.rules.live(unreachable, f.clock.millis()), "but nobody reached it for --offline-after");
      assertEquals(HolderState.UNREACHABLE, f.rules.state(unreachable, f.clock.millis()));

      h.proxy.orElseThrow().answerBadGateway(false);
      assertEquals(200, f.heartbeat(h));
      assertTrue(f.rules.live(f.record(h), f.clock.millis()), "proven again with its next heartbeat");
    }
  }
}
