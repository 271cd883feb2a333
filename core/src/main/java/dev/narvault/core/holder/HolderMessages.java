package dev.narvault.core.holder;

import dev.narvault.core.pack.FragmentId;
import java.util.List;

/**
 * The JSON messages a holder sends and answers, as records; {@link dev.narvault.core.json.JsonCodec}
 * reads and writes them. Each record checks its values, so a parsed message is a valid one.
 *
 * <p>The {@link Signed} family goes from a holder to the coordinator, signed with the holder's
 * identity key over the exact bytes sent; its {@code type} names the kind, so one kind can never
 * stand in for another. The others are a holder's answers to anyone.
 */
public final class HolderMessages {
  /** Free-text fields (version, operator, location) are at most this long. */
  public static final int MAX_TEXT = 200;

  private HolderMessages() {}

  /** A message a holder signs: its kind, who sends it, and when (the coordinator refuses replays). */
  public sealed interface Signed permits Registration, Heartbeat, ScrubReport, Exit, Away, EndpointProof {
    String type();

    String holderId();

    long timestampMillis();
  }

  /** {@code POST /v1/register}: a holder presents its key, endpoint and capacity. */
  public record Registration(String type, String holderId, long timestampMillis, String publicKey, String endpoint,
      long capacityBytes, long usedBytes, int fragments, String version, String operator, String location)
      implements Signed {
    public static final String TYPE = "register";

    public Registration {
      header(TYPE, type, holderId, timestampMillis);
      required("publicKey", publicKey);
      required("endpoint", endpoint);
      counts(capacityBytes, usedBytes, fragments);
      text("version", version);
      text("operator", operator);
      text("location", location);
    }
  }

  /** {@code POST /v1/heartbeat}: the holder is up, and what it stores now. */
  public record Heartbeat(String type, String holderId, long timestampMillis, long usedBytes, int fragments,
      String version) implements Signed {
    public static final String TYPE = "heartbeat";

    public Heartbeat {
      header(TYPE, type, holderId, timestampMillis);
      counts(0, usedBytes, fragments);
      text("version", version);
    }
  }

  /** {@code POST /v1/scrub-report}: the holder found a fragment corrupt and quarantined it. */
  public record ScrubReport(String type, String holderId, long timestampMillis, String fragmentId) implements Signed {
    public static final String TYPE = "scrub-report";

    public ScrubReport {
      header(TYPE, type, holderId, timestampMillis);
      new FragmentId(required("fragmentId", fragmentId));
    }
  }

  /** {@code POST /v1/exit}: the holder is leaving. */
  public record Exit(String type, String holderId, long timestampMillis) implements Signed {
    public static final String TYPE = "exit";

    public Exit {
      header(TYPE, type, holderId, timestampMillis);
    }
  }

  /**
   * {@code POST /v1/away}: the holder will be unreachable until {@code untilMillis} (at most 7 days
   * ahead) and asks not to be counted offline meanwhile; an {@code untilMillis} not after the
   * message's time says it is back.
   */
  public record Away(String type, String holderId, long timestampMillis, long untilMillis) implements Signed {
    public static final String TYPE = "away";

    public Away {
      header(TYPE, type, holderId, timestampMillis);
      if (untilMillis < 0) {
        throw new IllegalArgumentException("untilMillis must be >= 0, got " + untilMillis);
      }
    }
  }

  /**
   * {@code POST /v1/prove}'s body, from the coordinator to a holder's advertised endpoint: prove
   * your key here. {@code seenAddress} is the address the coordinator connected to (the one its
   * placement will use), so the holder learns how it is seen.
   */
  public record EndpointChallenge(String type, String nonce, String endpoint, String seenAddress) {
    public static final String TYPE = "endpoint-challenge";

    public EndpointChallenge {
      if (!TYPE.equals(type)) {
        throw new IllegalArgumentException("message type must be '" + TYPE + "', got '" + type + "'");
      }
      if (nonce == null || !nonce.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("nonce must be 64 lowercase hex digits");
      }
      required("endpoint", endpoint);
      text("endpoint", endpoint);
      text("seenAddress", seenAddress);
    }
  }

  /**
   * The answer to {@code POST /v1/prove}, signed with the holder's identity key over the exact
   * bytes (header {@code X-Narvault-Signature}): the challenge's nonce and endpoint, echoed.
   */
  public record EndpointProof(String type, String holderId, long timestampMillis, String nonce, String endpoint)
      implements Signed {
    public static final String TYPE = "endpoint-proof";

    public EndpointProof {
      header(TYPE, type, holderId, timestampMillis);
      required("nonce", nonce);
      required("endpoint", endpoint);
    }
  }

  /**
   * {@code GET /v1/status}: who the holder is, how full, how much of its monthly upload quota it
   * used, and its standing as the coordinator last told it ({@link Standing#unknown} until the
   * coordinator answered a heartbeat).
   */
  public record Status(String holderId, String publicKey, long capacityBytes, long usedBytes, int fragments,
      long uptimeSeconds, String version, QuotaUse uploadQuota, Standing standing) {
    public Status {
      required("holderId", holderId);
      required("publicKey", publicKey);
      java.util.Objects.requireNonNull(uploadQuota, "uploadQuota");
      java.util.Objects.requireNonNull(standing, "standing");
      counts(capacityBytes, usedBytes, fragments);
      if (uptimeSeconds < 0) {
        throw new IllegalArgumentException("uptimeSeconds must be >= 0, got " + uptimeSeconds);
      }
      text("version", version);
    }
  }

  /**
   * A holder's monthly upload quota ({@code --max-upload-per-month}) and what the month used of it.
   *
   * @param month the calendar month in UTC the count is for, {@code yyyy-MM}
   * @param servedBytes fragment bytes served to clients in that month (audits not counted)
   * @param quotaBytes the most it serves in a month (0: no quota; the month is counted all the same)
   */
  public record QuotaUse(String month, long servedBytes, long quotaBytes) {
    public QuotaUse {
      if (month == null || !month.matches("[0-9]{4}-(0[1-9]|1[0-2])")) {
        throw new IllegalArgumentException("month must be yyyy-MM, got '" + month + "'");
      }
      if (servedBytes < 0 || quotaBytes < 0) {
        throw new IllegalArgumentException("servedBytes and quotaBytes must be >= 0, got " + servedBytes + " and "
            + quotaBytes);
      }
    }
  }

  /** The answer to {@code POST /v1/audit}: {@link AuditChallenge#answer}, hex. */
  public record AuditAnswer(String hash) {
    public AuditAnswer {
      if (hash == null || !hash.matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException("audit answer must be 64 lowercase hex digits");
      }
    }
  }

  /** {@code POST /v1/audit}'s body: the wire form of an {@link AuditChallenge}. */
  public record AuditRequest(String fragmentId, String nonce, List<List<Long>> ranges) {
    public AuditRequest {
      required("fragmentId", fragmentId);
      required("nonce", nonce);
      if (ranges == null || ranges.size() > AuditChallenge.MAX_RANGES) {
        throw new IllegalArgumentException("an audit asks for 1 to " + AuditChallenge.MAX_RANGES + " ranges");
      }
      for (List<Long> r : ranges) {
        if (r == null || r.size() != 2 || r.get(0) == null || r.get(1) == null) {
          throw new IllegalArgumentException("ranges must be [offset, length] pairs");
        }
      }
      ranges = List.copyOf(ranges);
    }
  }

  /** {@code GET /v1/fragments}: one page of the ids a holder stores, in order. */
  public record Listing(List<String> fragments, boolean more) {
    public Listing {
      fragments = List.copyOf(fragments);
    }
  }

  private static void header(String expected, String type, String holderId, long timestampMillis) {
    if (!expected.equals(type)) {
      throw new IllegalArgumentException("message type must be '" + expected + "', got '" + type + "'");
    }
    required("holderId", holderId);
    if (holderId.length() > 128) {
      throw new IllegalArgumentException("holderId is too long");
    }
    if (timestampMillis < 0) {
      throw new IllegalArgumentException("timestampMillis must be >= 0, got " + timestampMillis);
    }
  }

  private static String required(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw new IllegalArgumentException("missing " + field);
    }
    return value;
  }

  private static void text(String field, String value) {
    if (value == null || value.length() > MAX_TEXT) {
      throw new IllegalArgumentException(field + " must be a string of at most " + MAX_TEXT + " characters");
    }
  }

  /**
   * What the coordinator makes of a holder, in its answer to each heartbeat: its state, vetting
   * progress, reputation, what of its fragments counts, and warnings it can act on.
   *
   * @param state the coordinator's word for it: healthy, vetting, suspect, suspended, disqualified,
   *     exiting, away, unreachable or offline
   * @param vetted whether it receives fragments without the unvetted share limit
   * @param auditsPassed audits passed so far; {@code auditsToVet} needed (with {@code vettedFromMillis})
   * @param vettedFromMillis when the vetting period ends (first registration + the period)
   * @param auditScore the audit score, 0..1 (suspect below 0.99, disqualified below 0.96)
   * @param suspensionScore the suspension score, 0..1 (suspended below 0.6)
   * @param countedFragments its fragments that count towards their packs' health
   * @param provenAddress the address the coordinator proved its endpoint at
   * @param reachedMillis when the coordinator last reached its endpoint
   * @param clockSkewMillis how far ahead of the coordinator's clock the heartbeat's stamp was
   * @param warnings what the volunteer may want to act on, in words
   * @param awayUntilMillis the end of its declared absence (0: none)
   * @param awayAllowanceMillis away time it may still declare
   * @param atMillis the coordinator's time of this answer
   */
  public record Standing(String holderId, String state, boolean vetted, long auditsPassed, long auditsToVet,
      long vettedFromMillis, double auditScore, double suspensionScore, long countedFragments, String provenAddress,
      long reachedMillis, long clockSkewMillis, List<String> warnings, long awayUntilMillis, long awayAllowanceMillis,
      long atMillis) {
    /** At most this many warnings, each at most {@value #MAX_WARNING} characters. */
    public static final int MAX_WARNINGS = 16;
    public static final int MAX_WARNING = 300;

    public Standing {
      required("holderId", holderId);
      required("state", state);
      if (!(auditScore >= 0 && auditScore <= 1) || !(suspensionScore >= 0 && suspensionScore <= 1)) {
        throw new IllegalArgumentException("scores must be within 0..1, got " + auditScore + " and " + suspensionScore);
      }
      if (auditsPassed < 0 || auditsToVet < 0 || countedFragments < 0 || awayUntilMillis < 0
          || awayAllowanceMillis < 0) {
        throw new IllegalArgumentException("counts must be >= 0");
      }
      warnings = List.copyOf(warnings);
      if (warnings.size() > MAX_WARNINGS || warnings.stream().anyMatch(w -> w.length() > MAX_WARNING)) {
        throw new IllegalArgumentException("at most " + MAX_WARNINGS + " warnings of " + MAX_WARNING + " characters");
      }
      provenAddress = provenAddress == null ? "" : provenAddress;
    }

    /** What a holder knows of its standing before the coordinator answered a heartbeat. */
    public static Standing unknown(String holderId) {
      return new Standing(holderId, "unknown", false, 0, 0, 0, 1, 1, 0, "", 0, 0,
          List.of("no answer from the coordinator yet"), 0, 0, 0);
    }
  }

  private static void counts(long capacityBytes, long usedBytes, int fragments) {
    if (capacityBytes < 0 || usedBytes < 0 || fragments < 0) {
      throw new IllegalArgumentException("capacity, use and fragment count must be >= 0");
    }
  }
}
