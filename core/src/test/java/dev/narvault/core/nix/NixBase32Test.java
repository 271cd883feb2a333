package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NixBase32Test {
  @Test
  void encode_matchesNixVectorForHelloWorld() {
    byte[] digest = Sha256Hash.of("hello world\n".getBytes(StandardCharsets.UTF_8)).bytes();
    assertEquals("a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447",
        HexFormat.of().formatHex(digest));
    assertEquals("0ix4jahrkll5zg01wandq78jw3ab30q4nscph67rniqg5x7r0j59", NixBase32.encode(digest));
  }

  @Test
  void decode_invertsEncodeForEveryLengthUpTo64() {
    Random random = new Random(42);
    for (int len = 0; len <= 64; len++) {
      byte[] bytes = new byte[len];
      random.nextBytes(bytes);
      String text = NixBase32.encode(bytes);
      assertEquals(NixBase32.encodedLength(len), text.length());
      assertArrayEquals(bytes, NixBase32.decode(text, len), "length " + len);
    }
  }

  @Test
  void encodedLength_is52ForSha256And32For20Bytes() {
    assertEquals(52, NixBase32.encodedLength(32));
    assertEquals(32, NixBase32.encodedLength(20));
  }

  @Test
  void decode_rejectsForeignCharacter() {
    String bad = "0ix4jahrkll5zg01wandq78jw3ab30q4nscph67rniqg5x7r0j5e"; // 'e' is not in nix32
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NixBase32.decode(bad, 32));
    assertEquals(true, e.getMessage().contains("'e'"));
  }

  @Test
  void decode_rejectsNonZeroOverflowBits() {
    // 52 characters carry 260 bits; the first character's top bits lie beyond the 256th.
    String overflow = "z" + "0".repeat(51);
    assertThrows(IllegalArgumentException.class, () -> NixBase32.decode(overflow, 32));
  }

  @Test
  void decode_rejectsWrongLength() {
    assertThrows(IllegalArgumentException.class, () -> NixBase32.decode("abc", 32));
  }
}
