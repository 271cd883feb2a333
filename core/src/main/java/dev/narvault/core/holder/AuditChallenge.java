package dev.narvault.core.holder;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.pack.FragmentId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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
    StringBuilder s = new StringBuilder("{\"fragmentId\":\"").append(fragmentId.hex()).append("\",\"nonce\":\"")
        .append(Base64.getEncoder().encodeToString(nonce)).append("\",\"ranges\":[");
    for (int i = 0; i < ranges.size(); i++) {
      s.append(i > 0 ? "," : "").append('[').append(ranges.get(i)[0]).append(',').append(ranges.get(i)[1]).append(']');
    }
    return s.append("]}").toString();
  }

  /** Parses the wire form; anything malformed is an IllegalArgumentException. */
  public static AuditChallenge fromJson(String json) {
    try {
      JsonNode n = new ObjectMapper().readTree(json);
      List<long[]> ranges = new ArrayList<>();
      for (JsonNode r : n.required("ranges")) {
        if (!r.isArray() || r.size() != 2 || !r.get(0).canConvertToLong() || !r.get(1).canConvertToLong()) {
          throw new IllegalArgumentException("ranges must be [offset, length] pairs");
        }
        ranges.add(new long[] {r.get(0).asLong(), r.get(1).asLong()});
      }
      return new AuditChallenge(new FragmentId(n.required("fragmentId").asText()),
          Base64.getDecoder().decode(n.required("nonce").asText()), ranges);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("malformed audit request: " + e.getOriginalMessage(), e);
    }
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
