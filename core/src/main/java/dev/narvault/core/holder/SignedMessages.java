package dev.narvault.core.holder;

import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.NixSecretKey;
import java.util.Base64;

/**
 * Holder-to-coordinator messages are JSON bodies signed with the holder's identity key; the raw
 * Ed25519 signature over the exact body bytes travels base64-encoded in {@value #HEADER}.
 */
public final class SignedMessages {
  public static final String HEADER = "X-Narvault-Signature";

  private SignedMessages() {}

  public static String sign(byte[] body, NixSecretKey key) {
    return Base64.getEncoder().encodeToString(key.sign(body));
  }

  public static boolean verify(byte[] body, String signature, NixPublicKey key) {
    if (signature == null) {
      return false;
    }
    try {
      return key.verifies(body, Base64.getDecoder().decode(signature));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
