package dev.narvault.core.nix;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The public keys whose signatures are trusted, by name, as Nix's {@code trusted-public-keys}.
 * A signature by an unknown name is skipped; one valid signature by a trusted key suffices.
 */
public final class TrustedKeys {
  private final Map<String, NixPublicKey> byName;

  public TrustedKeys(Collection<NixPublicKey> keys) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("at least one trusted public key is needed");
    }
    Map<String, NixPublicKey> map = new LinkedHashMap<>();
    for (NixPublicKey k : keys) {
      NixPublicKey previous = map.put(k.name(), k);
      if (previous != null && !previous.equals(k)) {
        throw new IllegalArgumentException("two different trusted keys are named '" + k.name() + "'");
      }
    }
    this.byName = Map.copyOf(map);
  }

  public static TrustedKeys of(NixPublicKey... keys) {
    return new TrustedKeys(List.of(keys));
  }

  /**
   * Checks the narinfo's signatures over its fingerprint.
   *
   * @return the name of the key whose signature verified
   * @throws SignatureVerificationException when no signature by a trusted key verifies
   */
  public String verify(NarInfo narInfo) throws SignatureVerificationException {
    return verify(narInfo.fingerprint(), narInfo.signatures(), "narinfo of " + narInfo.storePath());
  }

  /** Checks {@code name:base64} signatures over UTF-8 {@code text}; see {@link #verify(NarInfo)}. */
  public String verify(String text, List<String> signatures, String what)
      throws SignatureVerificationException {
    if (signatures.isEmpty()) {
      throw new SignatureVerificationException(what + " is not signed");
    }
    boolean sawTrustedName = false;
    for (String sig : signatures) {
      int colon = sig.indexOf(':');
      NixPublicKey key = colon > 0 ? byName.get(sig.substring(0, colon)) : null;
      if (key == null) {
        continue;
      }
      sawTrustedName = true;
      if (key.verifies(text, sig)) {
        return key.name();
      }
    }
    throw new SignatureVerificationException(sawTrustedName
        ? what + " has a signature by a trusted key name that does not verify (tampered?)"
        : what + " has no signature by a trusted key (trusted: " + byName.keySet() + ")");
  }

  /** Whether {@code key} is one of these keys (by name and key bytes). */
  public boolean trusts(NixPublicKey key) {
    return key.equals(byName.get(key.name()));
  }

  /** Parses {@code name:base64} keys, as the command line gives them; none is an error. */
  public static TrustedKeys parse(Collection<String> keys) {
    return new TrustedKeys(keys.stream().map(NixPublicKey::parse).toList());
  }

  public Collection<NixPublicKey> keys() {
    return byName.values();
  }
}
