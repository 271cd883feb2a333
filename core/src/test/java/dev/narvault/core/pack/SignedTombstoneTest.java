package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.TrustedKeys;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** A tombstone counts only as the archive key signed it: every field is pinned by the signature. */
class SignedTombstoneTest {
  private static final NixSecretKey ARCHIVE = NixSecretKey.generate("archive-1", new SecureRandom());
  static final SignedTombstone.Tombstone TOMBSTONE = new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT,
      "0123456789abcdfghijklmnpqrsvwxyz", "nar/1abc.nar.xz",
      "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s",
      "sha256:0c1bs6qwzvlfcl0kd6dnjq4lf0x4zdwaa0aws62nbb0fwdkkbl5k", "a".repeat(64), "leaked secret, ticket 42",
      1_700_000_000_000L);

  @Test
  void verifyTombstone_signedByATrustedKey_givesTheTombstoneBack() throws Exception {
    byte[] bytes = ManifestCodec.toBytes(ManifestCodec.signTombstone(TOMBSTONE, ARCHIVE));
    assertEquals(ManifestCodec.DocumentKind.TOMBSTONE, ManifestCodec.DocumentKind.of(bytes));
    assertEquals(TOMBSTONE, ManifestCodec.verifyTombstone(bytes, TrustedKeys.of(ARCHIVE.publicKey())));
  }

  @Test
  void verifyTombstone_signedByAnotherKey_isRefused() {
    NixSecretKey other = NixSecretKey.generate("archive-1", new SecureRandom());
    byte[] forged = ManifestCodec.toBytes(ManifestCodec.signTombstone(TOMBSTONE, other));
    assertThrows(SignatureVerificationException.class,
        () -> ManifestCodec.verifyTombstone(forged, TrustedKeys.of(ARCHIVE.publicKey())));
  }

  @Test
  void verifyTombstone_aFieldChangedAfterSigning_isRefused() {
    String text = new String(ManifestCodec.toBytes(ManifestCodec.signTombstone(TOMBSTONE, ARCHIVE)),
        StandardCharsets.UTF_8);
    // Pointing a genuine tombstone at another store path.
    byte[] moved = text.replace("0123456789abcdfghijklmnpqrsvwxyz", "1123456789abcdfghijklmnpqrsvwxyz")
        .getBytes(StandardCharsets.UTF_8);
    assertThrows(SignatureVerificationException.class,
        () -> ManifestCodec.verifyTombstone(moved, TrustedKeys.of(ARCHIVE.publicKey())));
  }

  @Test
  void tombstone_badFields_areRefusedWithTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new SignedTombstone.Tombstone(
        SignedTombstone.Tombstone.FORMAT, "not-a-hash", "nar/x.nar", "sha256:x", "sha256:y", "a".repeat(64), "r", 0));
    assertEquals(true, e.getMessage().contains("not-a-hash"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new SignedTombstone.Tombstone(SignedTombstone.Tombstone.FORMAT,
        TOMBSTONE.storeHash(), "nar/x.nar", "sha256:x", "sha256:y", "a".repeat(64), " ", 0));
    assertThrows(IllegalArgumentException.class, () -> new SignedTombstone.Tombstone("narvault-tombstone/2",
        TOMBSTONE.storeHash(), "nar/x.nar", "sha256:x", "sha256:y", "a".repeat(64), "r", 0));
  }
}
