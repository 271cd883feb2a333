package dev.narvault.core.nix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class Sha256HashTest {
  private static final String NIX32 = "0ix4jahrkll5zg01wandq78jw3ab30q4nscph67rniqg5x7r0j59";
  private static final String HEX = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";

  @Test
  void parse_acceptsEveryFormNixAccepts() {
    Sha256Hash expected = Sha256Hash.parse("sha256:" + NIX32);
    String b64 = Base64.getEncoder().encodeToString(expected.bytes());
    assertEquals(expected, Sha256Hash.parse("sha256:" + HEX));
    assertEquals(expected, Sha256Hash.parse("sha256:" + b64));
    assertEquals(expected, Sha256Hash.parse("sha256-" + b64));
    assertEquals("sha256:" + NIX32, expected.toNixString());
    assertEquals(HEX, expected.toHex());
  }

  @Test
  void parse_rejectsOtherAlgorithmsAndBadBodies() {
    assertThrows(IllegalArgumentException.class, () -> Sha256Hash.parse("sha1:" + HEX));
    assertThrows(IllegalArgumentException.class, () -> Sha256Hash.parse("sha256:" + HEX.substring(2)));
    assertThrows(IllegalArgumentException.class, () -> Sha256Hash.parse("sha256:" + HEX.replace('a', 'g')));
  }
}
