package dev.narvault.holder.server;

import dev.narvault.core.holder.Order;
import dev.narvault.core.nix.NixPublicKey;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;

/**
 * The coordinator keys a holder takes orders from, so that the coordinator key can be rotated
 * without a moment when holders refuse it: {@code current} keys are trusted for as long as the
 * holder runs, a {@code retired} key only until its date on the holder's clock (orders it signs
 * are accepted before that instant and refused from it on). Keys may share a name (keygen's
 * default name is the same for every key): each is tried.
 */
public record CoordinatorKeys(List<NixPublicKey> current, List<Retired> retired) {
  /** A key being retired: its orders are accepted before {@code until}, refused from then on. */
  public record Retired(NixPublicKey key, Instant until) {
    public Retired {
      if (key == null || until == null) {
        throw new IllegalArgumentException("a retired key needs the key and the date it stops being accepted");
      }
    }

    /**
     * Parses {@code NAME:BASE64@DATE}: DATE is {@code YYYY-MM-DD} (from the start of that day,
     * UTC, the key is refused) or an ISO-8601 instant such as {@code 2027-01-31T12:00:00Z}.
     */
    public static Retired parse(String text) {
      int at = text.lastIndexOf('@');
      if (at < 0) {
        throw new IllegalArgumentException("a retired coordinator key must look like NAME:BASE64@DATE, e.g. "
            + "narvault-coordinator-1:…@2027-01-31, got '" + text + "'");
      }
      return new Retired(NixPublicKey.parse(text.substring(0, at)), parseDate(text.substring(at + 1).strip()));
    }

    private static Instant parseDate(String date) {
      try {
        return date.contains("T") ? Instant.parse(date) : LocalDate.parse(date).atStartOfDay(ZoneOffset.UTC).toInstant();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("a retired coordinator key's date must be YYYY-MM-DD or an ISO-8601 "
            + "instant (2027-01-31T12:00:00Z), got '" + date + "'");
      }
    }

    @Override
    public String toString() {
      return key + "@" + until;
    }
  }

  /** Why an order's signature is not accepted, in words, for the refusal. */
  public static final class NotAccepted extends Exception {
    NotAccepted(String message) {
      super(message, null, false, false);
    }
  }

  public CoordinatorKeys {
    current = List.copyOf(current);
    retired = List.copyOf(retired);
    if (current.isEmpty()) {
      throw new IllegalArgumentException("at least one current coordinator public key is needed: it authorises "
          + "every write");
    }
  }

  /** Just this key, for good. */
  public static CoordinatorKeys of(NixPublicKey key) {
    return new CoordinatorKeys(List.of(key), List.of());
  }

  /**
   * Accepts the order's signature at {@code now}, or says why not.
   *
   * @throws NotAccepted when no current key verifies it and no retired one that does is still accepted
   */
  void verify(Order.Signed order, Instant now) throws NotAccepted {
    for (NixPublicKey key : current) {
      if (order.verifiedBy(key)) {
        return;
      }
    }
    Optional<Retired> retiredSigner = retired.stream().filter(r -> order.verifiedBy(r.key())).findFirst();
    if (retiredSigner.isEmpty()) {
      throw new NotAccepted("order signature does not verify with the coordinator's keys");
    }
    if (!now.isBefore(retiredSigner.get().until())) {
      throw new NotAccepted("order is signed by the retired coordinator key " + retiredSigner.get().key().name()
          + ", accepted until " + retiredSigner.get().until() + " only");
    }
  }
}
