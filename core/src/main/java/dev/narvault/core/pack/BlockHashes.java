package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import dev.narvault.core.nix.Sha256Hash;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;

/**
 * The SHA-256 of each block of one fragment, in order, kept as one array of 32-byte hashes and
 * written in manifests as base64 of their concatenation.
 */
public final class BlockHashes {
  private static final byte[] ID_TAG = "narvault-fragment/1\0".getBytes(StandardCharsets.US_ASCII);
  private final byte[] hashes;

  public BlockHashes(byte[] concatenated) {
    if (concatenated.length == 0 || concatenated.length % Sha256Hash.LENGTH != 0) {
      throw new IllegalArgumentException(
          "block hashes must be a non-empty multiple of 32 bytes, got " + concatenated.length);
    }
    this.hashes = concatenated.clone();
  }

  @JsonCreator
  public static BlockHashes fromBase64(String text) {
    return new BlockHashes(Base64.getDecoder().decode(text));
  }

  @JsonValue
  public String toBase64() {
    return Base64.getEncoder().encodeToString(hashes);
  }

  public int count() {
    return hashes.length / Sha256Hash.LENGTH;
  }

  /** True when SHA-256 of {@code data[off, off+len)} equals the hash of block {@code block}. */
  public boolean matches(int block, byte[] data, int off, int len) {
    MessageDigest digest = Sha256Hash.newDigest();
    digest.update(data, off, len);
    byte[] actual = digest.digest();
    return MessageDigest.isEqual(actual,
        Arrays.copyOfRange(hashes, block * Sha256Hash.LENGTH, (block + 1) * Sha256Hash.LENGTH));
  }

  /** The fragment id these block hashes give for a fragment of that length and block size. */
  public FragmentId fragmentId(long fragmentLength, int blockSize) {
    MessageDigest digest = Sha256Hash.newDigest();
    digest.update(ID_TAG);
    digest.update(ByteBuffer.allocate(12).putLong(fragmentLength).putInt(blockSize).array());
    digest.update(hashes);
    return FragmentId.of(digest.digest());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlockHashes other && Arrays.equals(hashes, other.hashes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(hashes);
  }

  @Override
  public String toString() {
    return "BlockHashes[" + count() + " blocks]";
  }
}
