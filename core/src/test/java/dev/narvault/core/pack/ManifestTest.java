package dev.narvault.core.pack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.narvault.core.erasure.BackblazeCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NixSecretKey;
import dev.narvault.core.nix.SignatureVerificationException;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.nix.TrustedKeys;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ManifestTest {
  private static final NixSecretKey KEY = NixSecretKey.generate("archive-1", new SecureRandom());
  private static final Manifest MANIFEST =
      PackFixtures.encode(new BackblazeCodec(3, 2), new int[] {100, 200}, 64, 11).manifest();

  @Test
  void canonical_parseThenRenderGivesTheSameBytes() {
    byte[] bytes = ManifestCodec.canonical(MANIFEST);
    assertEquals(MANIFEST, ManifestCodec.parse(bytes));
    assertArrayEquals(bytes, ManifestCodec.canonical(ManifestCodec.parse(bytes)));
    String text = new String(bytes, StandardCharsets.UTF_8);
    assertTrue(text.startsWith("{\"blockSize\":64,\"code\":\"rs-gf256-0x11d-backblaze\",\"dataFragmentCount\":3,"), text);
    assertTrue(!text.contains(" \"") && !text.contains("\n"), "no whitespace between tokens");
  }

  @Test
  void replaces_absentWhenNull_signedWhenSet_andChecked() throws Exception {
    String plain = new String(ManifestCodec.canonical(MANIFEST), StandardCharsets.UTF_8);
    assertTrue(!plain.contains("replaces"), "a manifest that replaces nothing keeps the bytes it always had: " + plain);
    assertTrue(MANIFEST.replacedPack().isEmpty());
    PackId old = ManifestCodec.packId(PackFixtures.encode(new BackblazeCodec(3, 2), new int[] {100, 200}, 64, 12).manifest());
    Manifest rewritten = Manifest.of(MANIFEST.layout(), digestsOf(MANIFEST), MANIFEST.nars(), java.util.Optional.of(old));
    assertEquals(java.util.Optional.of(old), rewritten.replacedPack());
    byte[] bytes = ManifestCodec.canonical(rewritten);
    assertEquals(rewritten, ManifestCodec.parse(bytes));
    assertTrue(!ManifestCodec.packId(rewritten).equals(ManifestCodec.packId(MANIFEST)), "the field is in the pack id");
    String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(rewritten, KEY)), StandardCharsets.UTF_8);
    assertEquals(rewritten, ManifestCodec.verify(signed.getBytes(StandardCharsets.UTF_8), TrustedKeys.of(KEY.publicKey())));
    String other = "0".repeat(64);
    assertThrows(SignatureVerificationException.class, () -> ManifestCodec.verify(
        signed.replace(old.hex(), other).getBytes(StandardCharsets.UTF_8), TrustedKeys.of(KEY.publicKey())),
        "replaces is signed");
    assertThrows(SignatureVerificationException.class, () -> ManifestCodec.verify(
        signed.replace(",\"replaces\":\"" + old.hex() + "\"", "").getBytes(StandardCharsets.UTF_8),
        TrustedKeys.of(KEY.publicKey())), "and cannot be dropped");
    assertThrows(IllegalArgumentException.class, () -> ManifestCodec.parse(
        new String(bytes, StandardCharsets.UTF_8).replace(old.hex(), "not-a-pack").getBytes(StandardCharsets.UTF_8)));
    assertThrows(IllegalArgumentException.class, () -> ManifestCodec.parse("[]".getBytes(StandardCharsets.UTF_8)));
  }

  private static List<FragmentDigest> digestsOf(Manifest m) {
    return m.fragments().stream().map(f -> new FragmentDigest(f.id(), f.length(), f.blockHashes())).toList();
  }

  @Test
  void verify_acceptsWhatWasSigned() throws Exception {
    byte[] signed = ManifestCodec.toBytes(ManifestCodec.sign(MANIFEST, KEY));
    assertEquals(MANIFEST, ManifestCodec.verify(signed, TrustedKeys.of(KEY.publicKey())));
  }

  static Stream<Arguments> tampers() {
    String packLength = "\"packLength\":" + MANIFEST.packLength();
    Manifest.Nar nar = MANIFEST.nars().getFirst();
    return Stream.of(
        Arguments.of("\"parityFragmentCount\":2", "\"parityFragmentCount\":3"),
        Arguments.of("\"key\":\"" + nar.key(), "\"key\":\"nar/evil"),
        Arguments.of("\"offset\":0}", "\"offset\":1}"),
        Arguments.of("\"length\":100,", "\"length\":99,"),
        Arguments.of("NarSize: 100", "NarSize: 101"),
        Arguments.of(packLength, "\"packLength\":" + (MANIFEST.packLength() - 1)));
  }

  @ParameterizedTest
  @MethodSource("tampers")
  void verify_rejectsAnyTamperedField(String from, String to) {
    String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(MANIFEST, KEY)), StandardCharsets.UTF_8);
    assertTrue(signed.contains(from), "tamper target present: " + from);
    byte[] bad = signed.replace(from, to).getBytes(StandardCharsets.UTF_8);
    Exception e = assertThrows(Exception.class, () -> ManifestCodec.verify(bad, TrustedKeys.of(KEY.publicKey())));
    assertTrue(e instanceof SignatureVerificationException || e instanceof IllegalArgumentException, e.toString());
  }

  @Test
  void verify_rejectsSwappedBlockHashAndForeignKey() {
    Manifest.Fragment f0 = MANIFEST.fragments().get(0);
    Manifest.Fragment f1 = MANIFEST.fragments().get(1);
    String signed = new String(ManifestCodec.toBytes(ManifestCodec.sign(MANIFEST, KEY)), StandardCharsets.UTF_8);
    // Swapping ids breaks self-consistency; swapping whole fragment entries breaks the signature.
    String swapped = signed.replace(f0.id().hex(), "X").replace(f1.id().hex(), f0.id().hex()).replace("X", f1.id().hex());
    assertThrows(IllegalArgumentException.class,
        () -> ManifestCodec.verify(swapped.getBytes(StandardCharsets.UTF_8), TrustedKeys.of(KEY.publicKey())));
    NixSecretKey other = NixSecretKey.generate("archive-1", new SecureRandom());
    assertThrows(SignatureVerificationException.class,
        () -> ManifestCodec.verify(signed.getBytes(StandardCharsets.UTF_8), TrustedKeys.of(other.publicKey())));
  }

  @Test
  void parse_rejectsUnknownFieldsDuplicatesAndOtherFormats() {
    String text = new String(ManifestCodec.canonical(MANIFEST), StandardCharsets.UTF_8);
    for (String bad : List.of(
        text.replace("{\"blockSize\"", "{\"extra\":1,\"blockSize\""),
        text.replace("{\"blockSize\":64,", "{\"blockSize\":64,\"blockSize\":64,"),
        text.replace("narvault-manifest/1", "narvault-manifest/2"),
        text.substring(0, text.length() - 1),
        "null")) {
      assertThrows(IllegalArgumentException.class, () -> ManifestCodec.parse(bad.getBytes(StandardCharsets.UTF_8)), bad.length() > 60 ? bad.substring(0, 60) : bad);
    }
  }

  @Test
  void nars_mayListOneObjectTwiceForTwoStorePaths_butNeverOverlapOtherwise() {
    Manifest.Nar first = MANIFEST.nars().getFirst();
    NarInfo info = first.parsedNarInfo();
    StorePath other = StorePath.makeSourcePath("other", info.narHash(), List.of());
    Manifest.Nar alias = new Manifest.Nar(first.key(), first.offset(), first.length(), first.fileHash(),
        info.text().replace(info.storePath().toString(), other.toString()));
    List<Manifest.Nar> withAlias = new ArrayList<>(MANIFEST.nars());
    withAlias.add(1, alias);
    Manifest m = new Manifest(MANIFEST.format(), MANIFEST.code(), 3, 2, MANIFEST.packLength(), MANIFEST.fragmentSize(),
        MANIFEST.blockSize(), MANIFEST.fragments(), withAlias);
    assertEquals(3, m.nars().size());
    List<Manifest.Nar> overlapping = new ArrayList<>(MANIFEST.nars());
    overlapping.add(1, new Manifest.Nar("nar/elsewhere.nar", first.offset(), first.length(), first.fileHash(), alias.narInfo()));
    assertThrows(IllegalArgumentException.class, () -> new Manifest(MANIFEST.format(), MANIFEST.code(), 3, 2,
        MANIFEST.packLength(), MANIFEST.fragmentSize(), MANIFEST.blockSize(), MANIFEST.fragments(), overlapping));
  }

  @Test
  void packId_isStableAndChangesWithContent() {
    assertEquals(ManifestCodec.packId(MANIFEST), ManifestCodec.packId(ManifestCodec.parse(ManifestCodec.canonical(MANIFEST))));
    Manifest other = PackFixtures.encode(new BackblazeCodec(3, 2), new int[] {100, 200}, 64, 12).manifest();
    assertTrue(!ManifestCodec.packId(MANIFEST).equals(ManifestCodec.packId(other)));
  }
}
