package dev.narvault.core.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.narvault.core.access.BoundedLines;
import dev.narvault.core.access.RequestLogParser;
import dev.narvault.core.coordinator.CoordinatorMessages;
import dev.narvault.core.holder.AuditChallenge;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.holder.Order;
import dev.narvault.core.http.ByteRange;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarObjectVerifier;
import dev.narvault.core.nix.NarVerificationException;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.pack.ManifestCodec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Every parser that takes outside bytes, fuzzed. The property: it parses, or throws its own
 * documented exception ({@link IllegalArgumentException} and its subclasses for text and JSON,
 * {@link NarVerificationException} for compressed NAR streams) — never anything else, and
 * never unbounded memory (the fuzzer's heap is small).
 *
 * <p>In a normal build each method replays its inputs from
 * {@code src/test/resources/dev/narvault/core/fuzz/ParserFuzzTestInputs/<method>/} (real seeds
 * and whatever fuzzing found); {@code bench/fuzz.sh} fuzzes each for a while.
 */
class ParserFuzzTest {
  private static String text(byte[] data) {
    return new String(data, StandardCharsets.UTF_8);
  }

  @FuzzTest(maxDuration = "60s")
  void requestLog(byte[] data) throws IOException {
    // Lines as AccessImport reads them (bounded), each through a parser of every format, one
    // parser per format for the whole input (a CloudFront header changes how later lines read).
    java.util.List<RequestLogParser> parsers = new java.util.ArrayList<>();
    for (RequestLogParser.Format f : RequestLogParser.Format.values()) {
      parsers.add(new RequestLogParser(f, 1_717_200_000_000L));
    }
    BoundedLines lines = new BoundedLines(new ByteArrayInputStream(data), 4096);
    String line;
    while ((line = lines.next()) != null) {
      for (RequestLogParser p : parsers) {
        try {
          p.parse(line);
        } catch (IllegalArgumentException expected) {
          // a bad line
        }
      }
    }
  }

  @FuzzTest(maxDuration = "60s")
  void narInfo(byte[] data) {
    try {
      NarInfo info = NarInfo.parse(data);
      // What parses must print and parse back to the same narinfo.
      NarInfo again = NarInfo.parse(info.toBytes());
      if (!again.storePath().equals(info.storePath()) || !again.narHash().equals(info.narHash())) {
        throw new AssertionError("narinfo does not survive printing: " + info.text());
      }
    } catch (IllegalArgumentException expected) {
      // malformed: the parser's own error
    }
  }

  @FuzzTest(maxDuration = "60s")
  void manifest(byte[] data) {
    try {
      ManifestCodec.parse(data);
    } catch (IllegalArgumentException expected) {
      // malformed
    }
    try {
      ManifestCodec.parseSigned(data);
    } catch (IllegalArgumentException expected) {
      // malformed
    }
    ManifestCodec.DocumentKind.of(data);
  }

  @FuzzTest(maxDuration = "60s")
  void order(byte[] data) {
    try {
      Order order = Order.parse(text(data));
      if (!Order.parse(order.text()).equals(order)) {
        throw new AssertionError("order does not survive printing: " + order.text());
      }
    } catch (IllegalArgumentException expected) {
      // malformed
    }
  }

  @FuzzTest(maxDuration = "60s")
  void range(FuzzedDataProvider data) {
    long total = data.consumeLong(0, Long.MAX_VALUE);
    String header = data.consumeRemainingAsString();
    try {
      ByteRange.parse(header, total).ifPresent(r -> {
        if (r.first() < 0 || r.length() < 1 || r.length() > total - r.first()) {
          throw new AssertionError("range " + r + " outside 0.." + total + " from '" + header + "'");
        }
      });
    } catch (ByteRange.UnsatisfiableException expected) {
      // 416
    }
  }

  @FuzzTest(maxDuration = "60s")
  void auditChallenge(byte[] data) {
    try {
      AuditChallenge c = AuditChallenge.fromJson(text(data));
      long total = 0;
      for (long[] r : c.ranges()) {
        total += r[1];
      }
      if (total > AuditChallenge.MAX_BYTES || total < 1) {
        throw new AssertionError("audit of " + total + " bytes accepted: " + text(data));
      }
    } catch (IllegalArgumentException expected) {
      // malformed
    }
  }

  @FuzzTest(maxDuration = "60s")
  void coordinatorMessages(byte[] data) {
    for (Class<?> type : new Class<?>[] {CoordinatorMessages.PlacementRequest.class,
        CoordinatorMessages.PlacementGrant.class, CoordinatorMessages.Policy.class}) {
      try {
        JsonCodec.parse(data, type);
      } catch (IllegalArgumentException expected) {
        // malformed
      }
    }
  }

  @FuzzTest(maxDuration = "60s")
  void holderMessages(byte[] data) {
    for (Class<?> type : new Class<?>[] {HolderMessages.Registration.class, HolderMessages.Heartbeat.class,
        HolderMessages.ScrubReport.class, HolderMessages.Exit.class, HolderMessages.Status.class,
        HolderMessages.AuditAnswer.class, HolderMessages.Listing.class}) {
      try {
        Object message = JsonCodec.parse(data, type);
        if (!JsonCodec.parse(JsonCodec.toJson(message), type).equals(message)) {
          throw new AssertionError(type.getSimpleName() + " does not survive printing: " + message);
        }
      } catch (IllegalArgumentException expected) {
        // malformed
      }
    }
  }

  @FuzzTest(maxDuration = "60s")
  void storePath(byte[] data) {
    try {
      StorePath p = StorePath.parse(text(data));
      if (!StorePath.parse(p.toString()).equals(p)) {
        throw new AssertionError("store path does not survive printing: " + p);
      }
    } catch (IllegalArgumentException expected) {
      // malformed
    }
  }

  @FuzzTest(maxDuration = "60s")
  void compressedNar(FuzzedDataProvider data) throws IOException {
    String compression = data.pickValue(new String[] {"xz", "zstd", "bzip2", "none"});
    byte[] object = data.consumeRemainingAsBytes();
    try {
      NarObjectVerifier.digest(new ByteArrayInputStream(object), compression, 1 << 20, object.length + 1L,
          OutputStream.nullOutputStream());
    } catch (NarVerificationException expected) {
      // corrupt, truncated, too large to decompress
    }
  }
}
