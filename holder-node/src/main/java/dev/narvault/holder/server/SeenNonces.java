package dev.narvault.holder.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The nonces of the orders this holder accepted, each until its order expires: an order is good
 * once. Each accepted nonce is appended to a journal file (and synced) before the order is
 * acted on, and the journal is read back when the holder starts, so a restart does not reopen a
 * replay window; expired lines are dropped when the journal is rewritten (at start, and when it
 * has grown to twice the live entries). Lines that do not parse (a torn last line after a crash)
 * are skipped.
 *
 * <p>The journal keeps {@value #SLACK} bytes of zeros past its last line, written when it is
 * rewritten, and lines are written over them: recording an order then allocates nothing, so a
 * full disk does not stop the holder taking orders, deletes above all (a delete frees space).
 * Only when the slack is used up is more appended; a failed compaction keeps the old journal.
 * (The zeros read back as a line that does not parse.) On copy-on-write filesystems (btrfs, ZFS)
 * an overwrite needs space too; there this only makes it rarer.
 */
final class SeenNonces implements AutoCloseable {
  /** More live orders than this at once means something is wrong; the oldest are forgotten. */
  static final int MAX = 1_000_000;
  private static final int COMPACT_SLACK = 10_000;
  /** Zeros kept allocated past the last line: room for about 1 300 orders. */
  static final int SLACK = 64 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(SeenNonces.class);

  private final Map<String, Instant> seen = new HashMap<>();
  private final Path journal;
  private FileChannel out;
  /** Where the next line goes, and the end of the bytes allocated for the journal. */
  private long position;
  private long allocated;
  private int journalLines;

  private SeenNonces(Path journal) {
    this.journal = journal;
  }

  /** Remembers nonces in {@code file}, loading the unexpired ones it already holds. */
  static SeenNonces journaled(Path file, Instant now) throws IOException {
    SeenNonces nonces = new SeenNonces(file);
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
        String[] parts = line.split(" ");
        if (parts.length == 2 && parts[0].matches("[0-9a-f]{32}") && parts[1].matches("[0-9]{1,18}")) {
          Instant expires = Instant.ofEpochMilli(Long.parseLong(parts[1]));
          if (expires.isAfter(now)) {
            nonces.seen.put(parts[0], expires);
          }
        }
      }
    } catch (NoSuchFileException e) {
      // first start
    }
    nonces.rewrite(now);
    return nonces;
  }

  /**
   * True the first time {@code nonce} is offered (and remembers it until {@code expires}).
   *
   * @throws IOException when the journal cannot be written (the order is then not accepted)
   */
  synchronized boolean firstUse(String nonce, Instant expires, Instant now) throws IOException {
    if (seen.size() >= MAX / 2) {
      seen.values().removeIf(e -> !e.isAfter(now));
      if (seen.size() >= MAX) {
        seen.clear();
      }
    }
    Instant known = seen.get(nonce);
    if (known != null && known.isAfter(now)) {
      return false;
    }
    if (out != null) {
      if (journalLines > 2 * seen.size() + COMPACT_SLACK) {
        seen.values().removeIf(e -> !e.isAfter(now));
        try {
          rewrite(now);
        } catch (IOException e) {
          // A full disk, perhaps: the old journal still holds every live nonce.
          LOG.warn("cannot compact the order journal {}, keeping it: {}", journal, e.toString());
        }
      }
      byte[] line = (nonce + " " + expires.toEpochMilli() + "\n").getBytes(StandardCharsets.US_ASCII);
      if (position + line.length > allocated) {
        writeFully(out, ByteBuffer.allocate(SLACK), allocated);
        allocated += SLACK;
      }
      writeFully(out, ByteBuffer.wrap(line), position);
      out.force(false);
      position += line.length;
      journalLines++;
    }
    seen.put(nonce, expires);
    return true;
  }

  /** Replaces the journal with the live entries and fresh slack, atomically; the old one stays on failure. */
  private void rewrite(Instant now) throws IOException {
    Path file = journal;
    Path temp = file.resolveSibling(file.getFileName() + ".tmp");
    StringBuilder live = new StringBuilder();
    seen.forEach((nonce, expires) -> {
      if (expires.isAfter(now)) {
        live.append(nonce).append(' ').append(expires.toEpochMilli()).append('\n');
      }
    });
    byte[] lines = live.toString().getBytes(StandardCharsets.US_ASCII);
    try (FileChannel f = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      writeFully(f, ByteBuffer.wrap(lines), 0);
      writeFully(f, ByteBuffer.allocate(SLACK), lines.length);
      f.force(true);
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    if (out != null) {
      out.close();
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    journalLines = seen.size();
    out = FileChannel.open(file, StandardOpenOption.WRITE);
    position = lines.length;
    allocated = lines.length + SLACK;
  }

  private static void writeFully(FileChannel f, ByteBuffer bytes, long at) throws IOException {
    long p = at;
    while (bytes.hasRemaining()) {
      p += f.write(bytes, p);
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (out != null) {
      out.close();
      out = null;
    }
  }
}
