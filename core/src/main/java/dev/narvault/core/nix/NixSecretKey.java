package dev.narvault.core.nix;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * An Ed25519 secret key in Nix's format, {@code name:base64(64 bytes = seed ‖ public key)}, as
 * written by {@code nix-store --generate-binary-cache-key}. Used to sign narinfos, manifests and
 * placement orders. {@link #toString()} never shows key material.
 */
public final class NixSecretKey {
  private final String name;
  private final byte[] seed;
  private final NixPublicKey publicKey;

  private NixSecretKey(String name, byte[] seed) {
    this.name = KeyNames.validate(name);
    this.seed = seed.clone();
    Ed25519PrivateKeyParameters params = new Ed25519PrivateKeyParameters(seed, 0);
    this.publicKey = new NixPublicKey(name, params.generatePublicKey().getEncoded());
  }

  /** Parses Nix's secret key file contents; checks that the embedded public half matches. */
  public static NixSecretKey parse(String text) {
    KeyNames.Parsed parsed = KeyNames.split(text.strip(), "secret key");
    byte[] bytes = parsed.bytes();
    if (bytes.length != 64) {
      throw new IllegalArgumentException(
          "Ed25519 secret key '" + parsed.name() + "' must have 64 bytes, got " + bytes.length);
    }
    NixSecretKey key = new NixSecretKey(parsed.name(), Arrays.copyOf(bytes, 32));
    if (!Arrays.equals(key.publicKey.keyBytes(), Arrays.copyOfRange(bytes, 32, 64))) {
      throw new IllegalArgumentException(
          "secret key '" + parsed.name() + "' is corrupt: its public half does not match its seed");
    }
    return key;
  }

  /** The key with this 32-byte Ed25519 seed (test vectors; otherwise prefer {@link #generate}). */
  public static NixSecretKey fromSeed(String name, byte[] seed) {
    if (seed.length != 32) {
      throw new IllegalArgumentException("Ed25519 seed must have 32 bytes, got " + seed.length);
    }
    return new NixSecretKey(name, seed);
  }

  public static NixSecretKey generate(String name, SecureRandom random) {
    byte[] seed = new byte[32];
    random.nextBytes(seed);
    return new NixSecretKey(name, seed);
  }

  public String name() {
    return name;
  }

  public NixPublicKey publicKey() {
    return publicKey;
  }

  /** The raw 64-byte Ed25519 signature of {@code message}. */
  public byte[] sign(byte[] message) {
    Ed25519Signer signer = new Ed25519Signer();
    signer.init(true, new Ed25519PrivateKeyParameters(seed, 0));
    signer.update(message, 0, message.length);
    return signer.generateSignature();
  }

  /** A {@code name:base64} signature line over UTF-8 {@code text}. */
  public String signLine(String text) {
    return name + ":" + Base64.getEncoder().encodeToString(sign(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** Signs the narinfo's fingerprint and returns a copy with the new {@code Sig} line. */
  public NarInfo sign(NarInfo narInfo) {
    return narInfo.withSignature(signLine(narInfo.fingerprint()));
  }

  /** The secret key file contents, in Nix's format. Handle with care. */
  public String toFileContents() {
    byte[] all = new byte[64];
    System.arraycopy(seed, 0, all, 0, 32);
    System.arraycopy(publicKey.keyBytes(), 0, all, 32, 32);
    return name + ":" + Base64.getEncoder().encodeToString(all);
  }

  @Override
  public String toString() {
    return "NixSecretKey[" + name + ", public " + publicKey + "]";
  }
}
