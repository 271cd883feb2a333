package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NixSecretKey;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers endpoint challenges ({@code POST /v1/prove}): the coordinator connects to the endpoint a
 * holder advertised and asks it to sign the challenge's nonce and endpoint with its identity key,
 * so that what placement learns of the holder's network comes from an address the holder really
 * answers at. Kept apart from the handler so it can be tested without Netty.
 *
 * <p>Anyone may ask: a proof only says "the holder of this key answered at this endpoint", its
 * {@code type} keeps it from standing in for any other signed message, and each answer carries a
 * fresh timestamp. For the same reason the {@code seenAddress} a challenge reports is only logged
 * (when it changes, with who sent it), never acted on.
 */
final class EndpointProver {
  private static final Logger LOG = LoggerFactory.getLogger(EndpointProver.class);

  /** The answer's body (sent as UTF-8) and the base64 signature over those exact bytes. */
  record Answer(String json, String signature) {}

  private final NixSecretKey identity;
  private final String holderId;
  private final InstantSource clock;
  private final AtomicReference<String> seenAddress = new AtomicReference<>("");

  EndpointProver(NixSecretKey identity, InstantSource clock) {
    this.identity = identity;
    this.holderId = HolderIdentity.holderId(identity.publicKey()).value();
    this.clock = clock;
  }

  /**
   * Signs the proof for a challenge ({@link HolderMessages.EndpointChallenge} JSON).
   *
   * @param from who sent the challenge, for the log
   * @throws IllegalArgumentException when the body is not an endpoint challenge
   */
  Answer answer(byte[] challengeJson, SocketAddress from) {
    HolderMessages.EndpointChallenge challenge = JsonCodec.parse(challengeJson, HolderMessages.EndpointChallenge.class);
    HolderMessages.EndpointProof proof = new HolderMessages.EndpointProof(HolderMessages.EndpointProof.TYPE, holderId,
        clock.millis(), challenge.nonce(), challenge.endpoint());
    byte[] body = JsonCodec.toJson(proof);
    noteSeenAddress(challenge.seenAddress(), challenge.endpoint(), from);
    return new Answer(new String(body, StandardCharsets.UTF_8), SignedMessages.sign(body, identity));
  }

  /** The address the latest challenge said the coordinator sees this holder at ("" before any). */
  String seenAddress() {
    return seenAddress.get();
  }

  private void noteSeenAddress(String address, String endpoint, SocketAddress from) {
    if (address.isEmpty() || address.equals(seenAddress.getAndSet(address))) {
      return;
    }
    LOG.info("the coordinator sees this holder at {} (challenge for {} from {})", printable(address),
        printable(endpoint), from);
  }

  /** Outside text as one log line: anything but printable ASCII becomes '?'. */
  private static String printable(String text) {
    StringBuilder s = new StringBuilder(text.length());
    text.chars().forEach(ch -> s.append(ch >= 0x20 && ch < 0x7f ? (char) ch : '?'));
    return s.toString();
  }
}
