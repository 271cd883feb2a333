package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class SignatureTest {
  @Test
  void verify_acceptsTheDocumentedRealNixSignature() {
    NixPublicKey key = NixPublicKey.parse("test-cache-1:Smhw4SvUzlXhjvqzdeZcefmYMozAdP/hmz3U8QNlSHM=");
    String fingerprint = "1;/nix/store/r1i15aj1yi38n7yyp4j2bw16hd4idzcp-withref;"
        + "sha256:0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5;168;"
        + "/nix/store/kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir";
    String sig = "test-cache-1:4UcEIprI6yynL3srka25RAxsYL9BC6csudCXhZ/paT6d2e3u+zPFZ9+/uhs4nbzWFnqMBFXJ0zzl4m93dF/bAA==";
    assertTrue(key.verifies(fingerprint, sig));
    assertFalse(key.verifies(fingerprint.replace(";168;", ";169;"), sig));
  }

  static Stream<Path> fixtureFiles() {
    return NixFixtures.COMPRESSIONS.stream().flatMap(c -> NixFixtures.narInfoFiles(c).stream());
  }

  @ParameterizedTest
  @MethodSource("fixtureFiles")
  void verify_acceptsEveryNarInfoNixSigned(Path file) throws Exception {
    NarInfo info = NarInfo.parse(Files.readAllBytes(file));
    assertEquals("test-cache-1", TrustedKeys.of(NixFixtures.publicKey()).verify(info));
  }

  @ParameterizedTest
  @ValueSource(strings = {"NarHash", "NarSize", "References", "StorePath"})
  void verify_rejectsTamperedSignedField(String field) throws Exception {
    NarInfo info = NixFixtures.narInfo("xz", "withref");
    String text = info.text();
    String tampered = switch (field) {
      case "NarHash" -> text.replace(info.narHash().toNixString(),
          Sha256Hash.of(new byte[] {1}).toNixString());
      case "NarSize" -> text.replace("NarSize: " + info.narSize(), "NarSize: " + (info.narSize() + 8));
      case "References" -> text.replace("References: " + info.references().getFirst().baseName(), "References: ");
      default -> text.replace(info.storePath().hashPart(), "00000000000000000000000000000000");
    };
    NarInfo bad = NarInfo.parse(tampered);
    assertFalse(bad.equals(info), "the tamper must change something");
    SignatureVerificationException e = assertThrows(SignatureVerificationException.class,
        () -> TrustedKeys.of(NixFixtures.publicKey()).verify(bad));
    assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
  }

  @Test
  void verify_unsignedFieldsMayChange() throws Exception {
    NarInfo info = NixFixtures.narInfo("xz", "withref");
    NarInfo moved = NarInfo.parse(info.text().replace("URL: nar/", "URL: elsewhere/nar/"));
    assertEquals("test-cache-1", TrustedKeys.of(NixFixtures.publicKey()).verify(moved));
  }

  @Test
  void verify_rejectsUnknownKeyAndUnsigned() throws Exception {
    NarInfo info = NixFixtures.narInfo("xz", "withref");
    TrustedKeys other = TrustedKeys.of(NixSecretKey.generate("other-1", new SecureRandom()).publicKey());
    assertTrue(assertThrows(SignatureVerificationException.class, () -> other.verify(info))
        .getMessage().contains("no signature by a trusted key"));
    NarInfo unsigned = NarInfo.parse(info.text().replaceAll("Sig: .*\n", ""));
    assertTrue(assertThrows(SignatureVerificationException.class,
        () -> TrustedKeys.of(NixFixtures.publicKey()).verify(unsigned)).getMessage().contains("not signed"));
  }

  @Test
  void verify_sameNameDifferentKeyDoesNotVerify() throws Exception {
    NarInfo info = NixFixtures.narInfo("xz", "withref");
    NixPublicKey impostor = NixSecretKey.generate("test-cache-1", new SecureRandom()).publicKey();
    assertThrows(SignatureVerificationException.class, () -> TrustedKeys.of(impostor).verify(info));
  }

  @Test
  void sign_withNixsKeyReproducesNixsSignatureExactly() throws Exception {
    // Ed25519 is deterministic: the same key over the same fingerprint gives Nix's very bytes.
    NixSecretKey key = NixFixtures.secretKey();
    for (String c : NixFixtures.COMPRESSIONS) {
      NarInfo info = NixFixtures.narInfo(c, "withref");
      assertTrue(info.signatures().contains(key.signLine(info.fingerprint())), c);
    }
  }

  @Test
  void secretKey_roundTripsNixFileFormatAndHidesKeyInToString() throws IOException {
    String text = Files.readString(NixFixtures.root().resolve("keys/test-cache-1.sec")).strip();
    NixSecretKey key = NixSecretKey.parse(text);
    assertEquals(text, key.toFileContents());
    assertEquals(NixFixtures.publicKey(), key.publicKey());
    assertFalse(key.toString().contains(text.substring(text.indexOf(':') + 1, text.indexOf(':') + 20)));
  }

  @Test
  void secretKey_rejectsCorruptPublicHalfAndBadBase64() {
    NixSecretKey key = NixSecretKey.generate("k", new SecureRandom());
    byte[] all = Base64.getDecoder().decode(key.toFileContents().substring(2));
    all[40] ^= 1;
    String corrupt = "k:" + Base64.getEncoder().encodeToString(all);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> NixSecretKey.parse(corrupt))
        .getMessage().contains("public half"));
    assertThrows(IllegalArgumentException.class, () -> NixSecretKey.parse("k:not base64!"));
    assertThrows(IllegalArgumentException.class, () -> NixPublicKey.parse("nocolon"));
    assertThrows(IllegalArgumentException.class, () -> NixPublicKey.parse("k:" + Base64.getEncoder()
        .encodeToString("short".getBytes(StandardCharsets.UTF_8))));
  }
}
