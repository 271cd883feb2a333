package dev.narvault.core.nix;

import java.util.Arrays;

/**
 * Nix's own base32 ("nix32"): alphabet {@code 0123456789abcdfghijklmnpqrsvwxyz}, and a bit order
 * in which the first character carries the bits of the <em>last</em> byte.
 */
public final class NixBase32 {
  private static final String ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz";
  private static final byte[] REVERSE = new byte[128];

  static {
    Arrays.fill(REVERSE, (byte) -1);
    for (int i = 0; i < ALPHABET.length(); i++) {
      REVERSE[ALPHABET.charAt(i)] = (byte) i;
    }
  }

  private NixBase32() {}

  /** Length of the encoding of {@code byteCount} bytes: ⌈8n/5⌉. */
  public static int encodedLength(int byteCount) {
    return (byteCount * 8 + 4) / 5;
  }

  public static String encode(byte[] bytes) {
    int length = encodedLength(bytes.length);
    StringBuilder out = new StringBuilder(length);
    for (int n = length - 1; n >= 0; n--) {
      int b = n * 5;
      int i = b / 8;
      int j = b % 8;
      int c = (bytes[i] & 0xff) >>> j;
      if (i + 1 < bytes.length) {
        c |= (bytes[i + 1] & 0xff) << (8 - j);
      }
      out.append(ALPHABET.charAt(c & 31));
    }
    return out.toString();
  }

  /**
   * Decodes {@code text} into {@code byteCount} bytes.
   *
   * @throws IllegalArgumentException on a wrong length, a character outside the alphabet, or
   *     non-zero bits beyond the last byte
   */
  public static byte[] decode(String text, int byteCount) {
    if (text.length() != encodedLength(byteCount)) {
      throw new IllegalArgumentException(
          "nix32 string of " + byteCount + " bytes must have " + encodedLength(byteCount)
              + " characters, got " + text.length() + ": '" + text + "'");
    }
    byte[] out = new byte[byteCount];
    int length = text.length();
    for (int n = 0; n < length; n++) {
      char ch = text.charAt(length - n - 1);
      int digit = ch < 128 ? REVERSE[ch] : -1;
      if (digit < 0) {
        throw new IllegalArgumentException("invalid nix32 character '" + ch + "' in '" + text + "'");
      }
      int b = n * 5;
      int i = b / 8;
      int j = b % 8;
      out[i] |= (byte) (digit << j);
      int carry = digit >>> (8 - j);
      if (i + 1 < byteCount) {
        out[i + 1] |= (byte) carry;
      } else if (carry != 0) {
        throw new IllegalArgumentException("nix32 string has non-zero padding bits: '" + text + "'");
      }
    }
    return out;
  }

  /** The nix32 character of a value 0 to 31. */
  public static char character(int value) {
    return ALPHABET.charAt(value);
  }

  /** The value (0 to 31) of a nix32 character, or -1 for a character outside the alphabet. */
  public static int digit(char ch) {
    return ch < 128 ? REVERSE[ch] : -1;
  }

  /** True when {@code text} consists only of nix32 characters. */
  public static boolean isNix32(CharSequence text) {
    for (int i = 0; i < text.length(); i++) {
      char ch = text.charAt(i);
      if (ch >= 128 || REVERSE[ch] < 0) {
        return false;
      }
    }
    return true;
  }
}
