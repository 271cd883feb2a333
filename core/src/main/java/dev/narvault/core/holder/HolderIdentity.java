package dev.narvault.core.holder;

import dev.narvault.core.nix.NixBase32;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.Sha256Hash;
import java.util.Arrays;

/**
 * A holder is known by its Ed25519 identity key; its id is derived from the key, so nobody can
 * claim an id without the key: the first 20 bytes of SHA-256(public key), in nix32 (32 chars).
 */
public final class HolderIdentity {
  private HolderIdentity() {}

  public static HolderId holderId(NixPublicKey key) {
    return new HolderId(NixBase32.encode(Arrays.copyOf(Sha256Hash.of(key.keyBytes()).bytes(), 20)));
  }
}
