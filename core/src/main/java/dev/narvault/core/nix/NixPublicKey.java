package dev.narvault.core.nix;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * An Ed25519 public key in Nix's {@code name:base64(32 bytes)} form, as found in
 * {@code trusted-public-keys}.
 */
public final class NixPublicKey {
  public static final int LENGTH = 32;

  private final String name;
  private final byte[] key;

  public NixPublicKey(String name, byte[] key) {
    this.name = KeyNames.validate(name);
    if (key.length != LENGTH) {
      throw new IllegalArgumentException(
          "Ed25519 public key '" + name + "' must have 32 bytes, got " + key.length);
    }
    this.key = key.clone();
  }

  /** Parses {@code name:base64}; surrounding whitespace (a trailing newline) is ignored. */
  public static NixPublicKey parse(String text) {
    KeyNames.Parsed parsed = KeyNames.split(text.strip(), "public key");
    return new NixPublicKey(parsed.name(), parsed.bytes());
  }

  public String name() {
    return name;
  }

  public byte[] keyBytes() {
    return key.clone();
  }

  /** True when {@code signature} (64 bytes) is this key's Ed25519 signature of {@code message}. */
  public boolean verifies(byte[] message, byte[] signature) {
    if (signature.length != 64) {
      return false;
    }
    Ed25519Signer verifier = new Ed25519Signer();
    verifier.init(false, new Ed25519PublicKeyParameters(key, 0));
    verifier.update(message, 0, message.length);
    return verifier.verifySignature(signature);
  }

  /** Checks a {@code name:base64} signature line over UTF-8 {@code text}. */
  public boolean verifies(String text, String signatureLine) {
    KeyNames.Parsed sig;
    try {
      sig = KeyNames.split(signatureLine, "signature");
    } catch (IllegalArgumentException e) {
      return false;
    }
    return sig.name().equals(name) && verifies(text.getBytes(StandardCharsets.UTF_8), sig.bytes());
  }

  @Override
  public String toString() {
    return name + ":" + Base64.getEncoder().encodeToString(key);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NixPublicKey other && name.equals(other.name)
        && MessageDigest.isEqual(key, other.key);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(key);
  }
}
