package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderAway;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.repair.policy.HolderRules;
import dev.narvault.core.holder.HolderId;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;

/**
 * Holders joining, staying in touch and leaving. Every message is JSON signed with the holder's
 * identity key and names its {@code type}, so one kind can never stand in for another; its
 * {@code timestampMillis} must be within {@code maxSkew} of the coordinator's clock and newer than
 * the last message accepted from that holder, so a captured message cannot be replayed.
 *
 * <p>The messages are the records of {@link HolderMessages}; anything that does not parse into one
 * exactly is answered 400 with the reason.
 *
 * <p>A holder's identity is its key, learned only from its signed registration; its endpoint
 * changes only by a newer signed registration, and counts only once the coordinator has proven
 * it ({@link EndpointProver}: connected back to its resolved address, the key shown there). That
 * proven address, not where the registration came from, is what placement's failure domains use.
 * Registrations are rate-limited per network of their source.
 */
public final class Membership {
  private final Catalog catalog;
  private final InstantSource clock;
  private final Duration maxSkew;
  private final EndpointProver prover;
  private final Duration reproveAfter;
  private final RegistrationLimiter limiter;

  /**
   * @param reproveAfter a heartbeat from a holder not reached for this long has its endpoint
   *     proven again before it is answered, so that liveness (heard and reached) stays true of a
   *     holder others can reach, and only of it
   */
  public Membership(Catalog catalog, InstantSource clock, Duration maxSkew, EndpointProver prover,
      Duration reproveAfter) {
    this.catalog = catalog;
    this.clock = clock;
    this.maxSkew = maxSkew;
    this.prover = prover;
    this.reproveAfter = reproveAfter;
    this.limiter = new RegistrationLimiter(clock);
  }

  /** What a registration answers: the holder's id, and the address its endpoint was proven at. */
  public record Registered(HolderId holderId, String provenAddress, String sourceAddress) {}

  /**
   * {@code POST /v1/register}: the holder presents its key; its id must be derived from it.
   *
   * @param seenAddress the IP address the request came from
   */
  public Registered register(byte[] body, String signature, String seenAddress)
      throws MembershipException, CatalogException {
    if (!limiter.tryAcquire(dev.narvault.core.coordinator.FailureDomain.of(new HolderId("source"), seenAddress, "").network())) {
      throw new MembershipException(429, "too many registrations from " + seenAddress + "'s network; try later");
    }
    HolderMessages.Registration m = parse(body, HolderMessages.Registration.class);
    NixPublicKey key;
    try {
      key = NixPublicKey.parse(m.publicKey());
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, "bad publicKey: " + e.getMessage());
    }
    HolderId holderId = HolderIdentity.holderId(key);
    if (!holderId.value().equals(m.holderId())) {
      throw new MembershipException(400, "holderId " + m.holderId() + " is not derived from the public key");
    }
    checkSigned(body, signature, key);
    long ts = fresh(m);
    URI endpoint;
    try {
      endpoint = URI.create(m.endpoint());
      // Plain HTTP only: the coordinator connects to the very address it checked and records, and
      // every byte a holder serves is verified against its hash. Over HTTPS the connection would
      // follow the name (its certificate's) to wherever a second DNS answer points, so a stranger
      // could be proven at one address and recorded in another's failure domains.
      if (!"http".equals(endpoint.getScheme())) {
        throw new IllegalArgumentException("holders advertise a plain http:// URL (fragments are verified by "
            + "their hashes; the coordinator must connect to the address it checks), got " + endpoint.getScheme());
      }
      if (endpoint.getHost() == null || endpoint.getPort() < 1) {
        throw new IllegalArgumentException("needs a host and a port");
      }
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, "bad endpoint: " + e.getMessage());
    }
    String proven;
    try {
      proven = prover.prove(endpoint, key);
    } catch (EndpointProver.RefusedEndpointException e) {
      throw new MembershipException(400, e.getMessage());
    } catch (IOException e) {
      throw new MembershipException(400, "the coordinator could not prove endpoint " + endpoint + " (it connects back "
          + "and asks the holder to sign a challenge there): " + e.getMessage());
    }
    HolderRecord record = HolderRecord.registering(holderId, endpoint.toString(), key.toString(),
        m.capacityBytes(), m.usedBytes(), m.fragments(), m.version(), m.operator(), m.location(), clock.millis(),
        proven);
    if (!catalog.registerHolder(record, ts)) {
      throw new MembershipException(409, "stale or replayed registration of " + holderId);
    }
    return new Registered(holderId, proven, seenAddress);
  }

  /** {@code POST /v1/heartbeat} from a registered holder. */
  /** A heartbeat accepted: from whom, and how far its stamp was ahead of the coordinator's clock. */
  public record Beat(HolderId holderId, long clockSkewMillis) {}

  public Beat heartbeat(byte[] body, String signature) throws MembershipException, CatalogException {
    HolderMessages.Heartbeat m = parse(body, HolderMessages.Heartbeat.class);
    HolderId holderId = authenticate(m, body, signature);
    long ts = fresh(m);
    long skew = m.timestampMillis() - clock.millis();
    if (!catalog.recordHeartbeat(holderId, m.usedBytes(), m.fragments(), m.version(), ts, clock.millis())) {
      throw new MembershipException(409, "stale or replayed heartbeat from " + holderId);
    }
    HolderRecord h = catalog.holder(holderId).orElseThrow();
    if (clock.millis() - h.reachedMillis() >= reproveAfter.toMillis()) {
      reprove(h);
    }
    return new Beat(holderId, skew);
  }

  /** Proves a holder's endpoint again (it heartbeats, but was not reached lately); records the outcome. */
  private void reprove(HolderRecord h) throws CatalogException, MembershipException {
    long now = clock.millis();
    try {
      String address = prover.prove(URI.create(h.endpoint()), NixPublicKey.parse(h.publicKey().orElseThrow()));
      catalog.registry().recordProof(h.holderId(), address, now);
    } catch (EndpointProver.RefusedEndpointException | IOException | RuntimeException e) {
      catalog.registry().recordContact(h.holderId(), false, now);
      throw new MembershipException(503, "heartbeat recorded, but the coordinator cannot reach " + h.endpoint()
          + " (" + e.getMessage() + "): a holder others cannot reach is offline after --offline-after");
    }
  }

  /** {@code POST /v1/scrub-report}: a holder found a fragment corrupt and quarantined it. */
  public HolderId scrubReport(byte[] body, String signature) throws MembershipException, CatalogException {
    HolderMessages.ScrubReport m = parse(body, HolderMessages.ScrubReport.class);
    HolderId holderId = authenticate(m, body, signature);
    acceptOnce(holderId, fresh(m));
    catalog.recordScrubReport(holderId, new FragmentId(m.fragmentId()).hex(), clock.millis());
    return holderId;
  }

  /**
   * {@code POST /v1/exit}: the holder announces it is leaving. Repair moves its fragments away;
   * the answer says how many are still counted on it (0: it may stop).
   */
  public long exit(byte[] body, String signature) throws MembershipException, CatalogException {
    HolderMessages.Exit m = parse(body, HolderMessages.Exit.class);
    HolderId holderId = authenticate(m, body, signature);
    acceptOnce(holderId, fresh(m));
    catalog.custody().markExiting(holderId);
    return catalog.custody().storedFragments(holderId) + catalog.documents().storedDocumentCopies(holderId);
  }

  /**
   * {@code POST /v1/away}: the holder will be away until {@code untilMillis} (or, with a time not
   * after the message's, is back). Refused (409, with the reason) unless the holder may declare
   * an absence ({@link HolderRules#awayRefusal}) and has the away time left ({@link HolderAway});
   * coming back is always accepted.
   *
   * @return who declared it, and its absence as recorded
   */
  public Away away(byte[] body, String signature, HolderRules rules) throws MembershipException, CatalogException {
    HolderMessages.Away m = parse(body, HolderMessages.Away.class);
    HolderId holderId = authenticate(m, body, signature);
    long now = clock.millis();
    acceptOnce(holderId, fresh(m));
    if (m.untilMillis() > now) {
      HolderRecord h = catalog.holder(holderId).orElseThrow();
      var refusal = rules.awayRefusal(h, now);
      if (refusal.isPresent()) {
        throw new MembershipException(409, "absence refused: " + refusal.get());
      }
    }
    try {
      return new Away(holderId, catalog.registry().declareAway(holderId, m.untilMillis(), now),
          m.timestampMillis() - now);
    } catch (IllegalArgumentException e) {
      throw new MembershipException(409, "absence refused: " + e.getMessage());
    }
  }

  /** An absence recorded. */
  public record Away(HolderId holderId, HolderAway away, long clockSkewMillis) {}

  /** A registered holder as {@code GET /v1/holders} lists it. */
  public record Listed(String holderId, String endpoint, String publicKey, String operator, String location,
      String seenAddress, long capacityBytes, long usedBytes, long lastSeenMillis) {}

  /** {@code GET /v1/holders}: every registered holder (public: endpoints serve public data anyway). */
  public byte[] holders() throws CatalogException {
    List<Listed> list = catalog.holders().stream().map(h -> new Listed(h.holderId().value(), h.endpoint(),
        h.publicKey().orElse(""), h.operator(), h.location(), h.seenAddress(), h.capacityBytes(), h.usedBytes(),
        h.lastSeenMillis())).toList();
    return JsonCodec.toJson(list);
  }

  private void acceptOnce(HolderId holderId, long ts) throws MembershipException, CatalogException {
    if (!catalog.acceptMessage(holderId, ts)) {
      throw new MembershipException(409, "stale or replayed message from " + holderId);
    }
  }

  private HolderId authenticate(HolderMessages.Signed m, byte[] body, String signature)
      throws MembershipException, CatalogException {
    HolderId holderId;
    try {
      holderId = new HolderId(m.holderId());
    } catch (IllegalArgumentException e) {
      // No registered holder has such an id: ids are derived from keys.
      throw new MembershipException(404, "unknown holder " + m.holderId() + ": register first");
    }
    HolderRecord holder = catalog.holder(holderId)
        .orElseThrow(() -> new MembershipException(404, "unknown holder " + holderId + ": register first"));
    NixPublicKey key = NixPublicKey.parse(holder.publicKey()
        .orElseThrow(() -> new MembershipException(404, "holder " + holderId + " never registered its key")));
    checkSigned(body, signature, key);
    return holderId;
  }

  private static void checkSigned(byte[] body, String signature, NixPublicKey key) throws MembershipException {
    if (!SignedMessages.verify(body, signature, key)) {
      throw new MembershipException(401, "signature missing or not by the holder's key");
    }
  }

  private long fresh(HolderMessages.Signed m) throws MembershipException {
    long ts = m.timestampMillis();
    long skew = Math.abs(clock.millis() - ts);
    if (ts < 0 || skew > maxSkew.toMillis()) {
      throw new MembershipException(409, "timestamp " + ts + " is " + skew + " ms from the coordinator's clock");
    }
    return ts;
  }

  private static <T extends HolderMessages.Signed> T parse(byte[] body, Class<T> type) throws MembershipException {
    try {
      return JsonCodec.parse(body, type);
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, e.getMessage());
    }
  }
}
