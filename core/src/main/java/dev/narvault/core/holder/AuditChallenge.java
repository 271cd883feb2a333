package dev.narvault.core.holder;

import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * A proof-of-storage question: "hash this nonce followed by these byte ranges of that fragment".
 * Only a holder that has the bytes can answer; the nonce makes every answer fresh. The encoder,
 * which has every fragment in hand, prepares a few per fragment with their expected answers.
 *
 * <p>Answer: {@code hex(SHA-256(nonce ‖ bytes of range 1 ‖ bytes of range 2 ‖ …))}.
 */
public record AuditChallenge(FragmentId fragmentId, byte[] nonce, List<long[]> ranges) {
  /** Limits a holder enforces, so an audit cannot make it read much. */
  public static final int MAX_RANGES = 16;
  public static final long MAX_BYTES = 1 << 20;
  private static final int READ_BUFFER = 64 * 1024;

  public AuditChallenge {
    if (nonce.length < 16 || nonce.length > 64) {
      throw new IllegalArgumentException("audit nonce must have 16 to 64 bytes, got " + nonce.length);
    }
    if (ranges.isEmpty() || ranges.size() > MAX_RANGES) {
      throw new IllegalArgumentException("an audit asks for 1 to " + MAX_RANGES + " ranges, got " + ranges.size());
    }
    long total = 0;
    for (long[] r : ranges) {
      // Each length is bounded before it is added: the sum of at most MAX_RANGES of them cannot
      // overflow, and offset + length is never computed (see answer).
      if (r.length != 2 || r[0] < 0 || r[1] < 1 || r[1] > MAX_BYTES) {
        throw new IllegalArgumentException("bad audit range " + Arrays.toString(r) + " (offset >= 0, 1 <= length <= "
            + MAX_BYTES + ")");
      }
      total += r[1];
    }
    if (total > MAX_BYTES) {
      throw new IllegalArgumentException("audit asks for " + total + " bytes, more than " + MAX_BYTES);
    }
    nonce = nonce.clone();
    ranges = ranges.stream().map(long[]::clone).toList();
  }

  /** A fresh challenge of {@code count} ranges of up to 4 KiB inside a fragment of that length. */
  public static AuditChallenge random(FragmentId id, long fragmentLength, int count, Random random) {
    byte[] nonce = new byte[32];
    random.nextBytes(nonce);
    List<long[]> ranges = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long length = Math.min(fragmentLength, 1 + random.nextInt(4096));
      long offset = (long) (random.nextDouble() * (fragmentLength - length + 1));
      ranges.add(new long[] {offset, length});
    }
    return new AuditChallenge(id, nonce, ranges);
  }

  /** The answer for the fragment in {@code file}. */
  public String answer(FileChannel file) throws IOException {
    MessageDigest digest = Sha256Hash.newDigest();
    digest.update(nonce);
    long size = file.size();
    // Every range is checked before any byte is read, and reading uses one small buffer.
    for (long[] r : ranges) {
      if (r[0] > size || r[1] > size - r[0]) {
        throw new IOException("audit range " + r[0] + "+" + r[1] + " is past the fragment's end " + size);
      }
    }
    ByteBuffer buf = ByteBuffer.allocate((int) Math.min(READ_BUFFER, MAX_BYTES));
    for (long[] r : ranges) {
      long position = r[0];
      long end = r[0] + r[1];
      while (position < end) {
        buf.clear().limit((int) Math.min(buf.capacity(), end - position));
        int n = file.read(buf, position);
        if (n < 0) {
          throw new IOException("fragment ends early");
        }
        position += n;
        digest.update(buf.flip());
      }
    }
    return HexFormat.of().formatHex(digest.digest());
  }

  /** Wire form: {@code {"fragmentId":…,"nonce":base64,"ranges":[[offset,length],…]}}. */
  public String toJson() {
    HolderMessages.AuditRequest wire = new HolderMessages.AuditRequest(fragmentId.hex(),
        Base64.getEncoder().encodeToString(nonce), ranges.stream().map(r -> List.of(r[0], r[1])).toList());
    return new String(JsonCodec.toJson(wire), StandardCharsets.UTF_8);
  }

  /** Parses the wire form; anything malformed is an IllegalArgumentException. */
  public static AuditChallenge fromJson(String json) {
    HolderMessages.AuditRequest wire = JsonCodec.parse(json.getBytes(StandardCharsets.UTF_8),
        HolderMessages.AuditRequest.class);
    List<long[]> ranges = wire.ranges().stream().map(r -> new long[] {r.get(0), r.get(1)}).toList();
    return new AuditChallenge(new FragmentId(wire.fragmentId()), Base64.getDecoder().decode(wire.nonce()), ranges);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AuditChallenge other && toJson().equals(other.toJson());
  }

  @Override
  public int hashCode() {
    return toJson().hashCode();
  }
}
