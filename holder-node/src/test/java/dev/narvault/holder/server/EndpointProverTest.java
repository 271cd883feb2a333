package dev.narvault.holder.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;

/** Endpoint challenges answered without Netty. */
class EndpointProverTest {
  private static final NixSecretKey IDENTITY = NixSecretKey.generate("narvault-holder", new SecureRandom());
  private static final InetSocketAddress FROM = new InetSocketAddress("127.0.0.1", 4444);
  private final EndpointProver prover = new EndpointProver(IDENTITY,
      InstantSource.fixed(Instant.ofEpochMilli(1_764_000_000_000L)));

  private static byte[] challenge(String seenAddress) {
    return JsonCodec.toJson(new HolderMessages.EndpointChallenge("endpoint-challenge", "ab".repeat(32),
        "http://holder.example:7070", seenAddress));
  }

  @Test
  void answer_signsTheProofBytes_andRemembersTheLatestSeenAddress() {
    EndpointProver.Answer answer = prover.answer(challenge("192.0.2.7"), FROM);
    byte[] body = answer.json().getBytes(StandardCharsets.UTF_8);
    assertTrue(SignedMessages.verify(body, answer.signature(), IDENTITY.publicKey()));
    HolderMessages.EndpointProof proof = JsonCodec.parse(body, HolderMessages.EndpointProof.class);
    assertEquals(1_764_000_000_000L, proof.timestampMillis());
    assertEquals("http://holder.example:7070", proof.endpoint());
    assertEquals("192.0.2.7", prover.seenAddress());
    prover.answer(challenge(""), FROM);
    assertEquals("192.0.2.7", prover.seenAddress(), "a challenge that says nothing changes nothing");
    prover.answer(challenge("198.51.100.3"), FROM);
    assertEquals("198.51.100.3", prover.seenAddress());
  }

  @Test
  void answer_notAChallenge_isIllegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> prover.answer("[]".getBytes(StandardCharsets.UTF_8), FROM));
    assertThrows(IllegalArgumentException.class, () -> prover.answer(new byte[0], FROM));
  }
}
