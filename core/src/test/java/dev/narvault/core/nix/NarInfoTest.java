package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class NarInfoTest {
  private static final String VALID = """
      StorePath: /nix/store/r1i15aj1yi38n7yyp4j2bw16hd4idzcp-withref
      URL: nar/1j1i0flpgjk243ivdkm11i19fcql7w39w9wm573jdnf3mjmynlcs.nar.xz
      Compression: xz
      FileHash: sha256:1j1i0flpgjk243ivdkm11i19fcql7w39w9wm573jdnf3mjmynlcs
      FileSize: 176
      NarHash: sha256:0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5
      NarSize: 168
      References: kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir
      Sig: test-cache-1:4UcEIprI6yynL3srka25RAxsYL9BC6csudCXhZ/paT6d2e3u+zPFZ9+/uhs4nbzWFnqMBFXJ0zzl4m93dF/bAA==
      """;

  static Stream<Path> fixtureFiles() {
    return NixFixtures.COMPRESSIONS.stream().flatMap(c -> NixFixtures.narInfoFiles(c).stream());
  }

  @ParameterizedTest
  @MethodSource("fixtureFiles")
  void parse_thenRender_isByteIdenticalForNixWrittenFiles(Path file) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    NarInfo info = NarInfo.parse(bytes);
    assertArrayEquals(bytes, info.toBytes());
    assertTrue(file.getFileName().toString().startsWith(info.storePath().hashPart()));
  }

  @Test
  void parse_exposesTypedFields() {
    NarInfo info = NarInfo.parse(VALID);
    assertEquals("withref", info.storePath().name());
    assertEquals("xz", info.compression());
    assertEquals(176, info.fileSize().getAsLong());
    assertEquals(168, info.narSize());
    assertEquals(List.of(StorePath.parseBaseName("kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir")), info.references());
    assertEquals(1, info.signatures().size());
  }

  @Test
  void parse_keepsUnknownKeysInPlace() {
    String text = VALID.replace("Compression: xz\n", "Compression: xz\nX-Custom: kept: as is\n");
    NarInfo info = NarInfo.parse(text);
    assertEquals(text, info.text());
    assertEquals("kept: as is", info.value("X-Custom").orElseThrow());
  }

  @Test
  void compression_missingOrEmptyMeansBzip2() {
    assertEquals("bzip2", NarInfo.parse(VALID.replace("Compression: xz\n", "")).compression());
    assertEquals("bzip2", NarInfo.parse(VALID.replace("Compression: xz\n", "Compression: \n")).compression());
  }

  @Test
  void fingerprint_matchesTheDocumentedExample() {
    assertEquals("1;/nix/store/r1i15aj1yi38n7yyp4j2bw16hd4idzcp-withref;"
        + "sha256:0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5;168;"
        + "/nix/store/kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir", NarInfo.parse(VALID).fingerprint());
    assertTrue(NarInfo.parse(VALID.replace("References: kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir", "References: "))
        .fingerprint().endsWith(";168;"));
  }

  @Test
  void fingerprint_reencodesHexNarHashInNix32() {
    String hex = Sha256Hash.parse("sha256:0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5").toHex();
    NarInfo info = NarInfo.parse(VALID.replace("0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5", hex));
    assertEquals(NarInfo.parse(VALID).fingerprint(), info.fingerprint());
  }

  static Stream<Arguments> malformed() {
    return Stream.of(
        Arguments.of("no StorePath", VALID.replace("StorePath: /nix/store/r1i15aj1yi38n7yyp4j2bw16hd4idzcp-withref\n", ""), "StorePath"),
        Arguments.of("no URL", VALID.replace("URL: nar/1j1i0flpgjk243ivdkm11i19fcql7w39w9wm573jdnf3mjmynlcs.nar.xz\n", ""), "URL"),
        Arguments.of("no NarHash", VALID.replace("NarHash: sha256:0pvz89dg4xq1br09crmd2mw8dk1b0i94ihgjkhv8r57xl0s997l5\n", ""), "NarHash"),
        Arguments.of("no NarSize", VALID.replace("NarSize: 168\n", ""), "NarSize"),
        Arguments.of("zero NarSize", VALID.replace("NarSize: 168", "NarSize: 0"), "NarSize"),
        Arguments.of("negative size", VALID.replace("FileSize: 176", "FileSize: -1"), "FileSize"),
        Arguments.of("size not a number", VALID.replace("NarSize: 168", "NarSize: 16x"), "NarSize"),
        Arguments.of("size with plus sign", VALID.replace("NarSize: 168", "NarSize: +168"), "NarSize"),
        Arguments.of("duplicate References", VALID + "References: \n", "line 10: duplicate key 'References'"),
        Arguments.of("duplicate StorePath", VALID + "StorePath: /nix/store/r1i15aj1yi38n7yyp4j2bw16hd4idzcp-x\n", "duplicate key 'StorePath'"),
        Arguments.of("CR line ending", VALID.replace("\n", "\r\n"), "line 1: carriage return"),
        Arguments.of("no final newline", VALID.substring(0, VALID.length() - 1), "line 9: missing final newline"),
        Arguments.of("line without colon", VALID.replace("Compression: xz", "Compression xz"), "line 3: expected 'Key: value'"),
        Arguments.of("empty line", VALID + "\n", "line 10"),
        Arguments.of("bad store path", VALID.replace("-withref", "-with/ref"), "StorePath"),
        Arguments.of("bad reference", VALID.replace("References: kvcnlkj2j92by2gfiw518iqy9mvpvmfi-srcdir", "References: nope"), "References"),
        Arguments.of("bad hash", VALID.replace("NarHash: sha256:0pvz", "NarHash: sha256:epvz"), "NarHash"),
        Arguments.of("empty", "", "empty"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformed")
  void parse_rejectsMalformedWithMessageNamingTheProblem(String why, String text, String expectedInMessage) {
    NarInfoFormatException e = assertThrows(NarInfoFormatException.class, () -> NarInfo.parse(text));
    assertTrue(e.getMessage().contains(expectedInMessage), why + ": " + e.getMessage());
  }

  @Test
  void parse_rejectsNonUtf8() {
    byte[] bytes = VALID.replace("withref", "withr\u00e9f").getBytes(StandardCharsets.ISO_8859_1);
    NarInfoFormatException e = assertThrows(NarInfoFormatException.class, () -> NarInfo.parse(bytes));
    assertTrue(e.getMessage().contains("UTF-8"));
  }

  @Test
  void parse_rejectsOversizedFile() {
    byte[] huge = (VALID + ("X-Pad: " + "a".repeat(1000) + "\n").repeat(1100)).getBytes(StandardCharsets.UTF_8);
    NarInfoFormatException e = assertThrows(NarInfoFormatException.class, () -> NarInfo.parse(huge));
    assertTrue(e.getMessage().contains("limit"));
  }

  @Test
  void parse_fuzzedInputParsesOrThrowsIllegalArgumentOnly() {
    long seed = new Random().nextLong();
    Random random = new Random(seed);
    byte[] base = VALID.getBytes(StandardCharsets.UTF_8);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = base.clone();
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits; e++) {
        b[random.nextInt(b.length)] = (byte) random.nextInt(256);
      }
      byte[] input = random.nextInt(10) == 0 ? Arrays.copyOf(b, random.nextInt(b.length)) : b;
      try {
        NarInfo info = NarInfo.parse(input);
        assertArrayEquals(input, info.toBytes(), "seed " + seed + " round " + round);
      } catch (IllegalArgumentException expected) {
        // the contract: parses, or an IllegalArgumentException with a message
        if (expected.getMessage() == null) {
          fail("exception without message, seed " + seed);
        }
      }
    }
  }

  @Test
  void withSignature_insertsAfterExistingSigsAndBeforeCa() throws IOException {
    NarInfo info = NixFixtures.narInfo("xz", "big.txt");
    NarInfo signed = info.withSignature("other:AAAA");
    List<String> keys = signed.fields().stream().map(NarInfo.Field::key).toList();
    assertEquals("Sig", keys.get(keys.size() - 2));
    assertEquals("CA", keys.get(keys.size() - 1));
    assertEquals("other:AAAA", signed.signatures().getLast());
  }
}
