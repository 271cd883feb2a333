package dev.narvault.repair;

import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.catalog.CatalogException;
import dev.narvault.core.catalog.HolderRecord;
import dev.narvault.core.holder.HolderIdentity;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.holder.SignedMessages;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.pack.FragmentId;
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
 * changes only by a newer signed registration. The address a registration comes from is recorded:
 * placement keeps one network's holders apart. Registrations are rate-limited per network.
 */
public final class Membership {
  private final Catalog catalog;
  private final InstantSource clock;
  private final Duration maxSkew;
  private final boolean allowLoopback;
  private final RegistrationLimiter limiter;

  /**
   * @param allowLoopback accept holders whose endpoint is a loopback address (only sensible when
   *     the coordinator itself and its workers are on this machine)
   */
  public Membership(Catalog catalog, InstantSource clock, Duration maxSkew, boolean allowLoopback) {
    this.catalog = catalog;
    this.clock = clock;
    this.maxSkew = maxSkew;
    this.allowLoopback = allowLoopback;
    this.limiter = new RegistrationLimiter(clock);
  }

  /**
   * {@code POST /v1/register}: the holder presents its key; its id must be derived from it.
   *
   * @param seenAddress the IP address the request came from
   */
  public String register(byte[] body, String signature, String seenAddress) throws MembershipException, CatalogException {
    if (!limiter.tryAcquire(dev.narvault.repair.policy.Networks.of(seenAddress))) {
      throw new MembershipException(429, "too many registrations from " + seenAddress + "'s network; try later");
    }
    HolderMessages.Registration m = parse(body, HolderMessages.Registration.class);
    String holderId = m.holderId();
    NixPublicKey key;
    try {
      key = NixPublicKey.parse(m.publicKey());
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, "bad publicKey: " + e.getMessage());
    }
    if (!HolderIdentity.holderId(key).equals(holderId)) {
      throw new MembershipException(400, "holderId " + holderId + " is not derived from the public key");
    }
    checkSigned(body, signature, key);
    long ts = fresh(m);
    URI endpoint;
    try {
      endpoint = URI.create(m.endpoint());
      if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme())) {
        throw new IllegalArgumentException("not http(s)");
      }
      if (endpoint.getHost() == null || endpoint.getPort() < 1) {
        throw new IllegalArgumentException("needs a host and a port");
      }
    } catch (IllegalArgumentException e) {
      throw new MembershipException(400, "bad endpoint: " + e.getMessage());
    }
    if (!allowLoopback && unreachable(endpoint.getHost())) {
      throw new MembershipException(400, "endpoint " + endpoint + " is not reachable from other machines: "
          + "advertise a public URL (narvault holder --advertise)");
    }
    HolderRecord record = HolderRecord.registering(holderId, endpoint.toString(), key.toString(),
        m.capacityBytes(), m.usedBytes(), m.fragments(), m.version(), m.operator(), m.location(), clock.millis(),
        seenAddress);
    if (!catalog.registerHolder(record, ts)) {
      throw new MembershipException(409, "stale or replayed registration of " + holderId);
    }
    return holderId;
  }

  /** {@code POST /v1/heartbeat} from a registered holder. */
  public String heartbeat(byte[] body, String signature) throws MembershipException, CatalogException {
    HolderMessages.Heartbeat m = parse(body, HolderMessages.Heartbeat.class);
    String holderId = authenticate(m, body, signature);
    long ts = fresh(m);
    if (!catalog.recordHeartbeat(holderId, m.usedBytes(), m.fragments(), m.version(), ts, clock.millis())) {
      throw new MembershipException(409, "stale or replayed heartbeat from " + holderId);
    }
    return holderId;
  }

  /** {@code POST /v1/scrub-report}: a holder found a fragment corrupt and quarantined it. */
  public String scrubReport(byte[] body, String signature) throws MembershipException, CatalogException {
    HolderMessages.ScrubReport m = parse(body, HolderMessages.ScrubReport.class);
    String holderId = authenticate(m, body, signature);
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
    String holderId = authenticate(m, body, signature);
    acceptOnce(holderId, fresh(m));
    catalog.custody().markExiting(holderId);
    return catalog.custody().storedFragments(holderId) + catalog.custody().storedDocumentCopies(holderId);
  }

  /** A registered holder as {@code GET /v1/holders} lists it. */
  public record Listed(String holderId, String endpoint, String publicKey, String operator, String location,
      String seenAddress, long capacityBytes, long usedBytes, long lastSeenMillis) {}

  /** {@code GET /v1/holders}: every registered holder (public: endpoints serve public data anyway). */
  public byte[] holders() throws CatalogException {
    List<Listed> list = catalog.holders().stream().map(h -> new Listed(h.holderId(), h.endpoint(),
        h.publicKey().orElse(""), h.operator(), h.location(), h.seenAddress(), h.capacityBytes(), h.usedBytes(),
        h.lastSeenMillis())).toList();
    return JsonCodec.toJson(list);
  }

  private void acceptOnce(String holderId, long ts) throws MembershipException, CatalogException {
    if (!catalog.acceptMessage(holderId, ts)) {
      throw new MembershipException(409, "stale or replayed message from " + holderId);
    }
  }

  /** Loopback, wildcard or link-local hosts: nobody else could reach a holder there. */
  private static boolean unreachable(String host) {
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("0:0:0:0:0:0:0:1")
        || h.equals("0.0.0.0") || h.equals("::") || h.startsWith("169.254.") || h.toLowerCase(java.util.Locale.ROOT).startsWith("fe80:");
  }

  private String authenticate(HolderMessages.Signed m, byte[] body, String signature)
      throws MembershipException, CatalogException {
    String holderId = m.holderId();
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
