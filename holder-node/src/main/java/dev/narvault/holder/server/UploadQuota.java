package dev.narvault.holder.server;

import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The volunteer's monthly upload quota ({@code --max-upload-per-month}): fragment bytes served to
 * clients count against the calendar month in UTC, and a read that would take the month past the
 * quota is refused ({@link Exhausted}) until the next month begins, so a month never serves more
 * than the quota. The handler counts a read whole when its answer begins, and does not count the
 * coordinator's audits at all (see {@code HolderServerHandler}). With no quota (0) the month is
 * counted all the same, so a quota set in the middle of a month knows what the month served.
 *
 * <p>The count survives restarts in {@value #FILE} in the data directory: {@code
 * {"month":"2026-03","servedBytes":123}}, replaced atomically (a synced temporary file renamed
 * over it) off the request threads once {@value #SAVE_EVERY_BYTES} bytes more were counted, when a
 * month begins, by {@link #save} every minute and at close. A crash loses at most what was counted
 * since the last save (a few MiB, or a minute's worth), which the month may then serve again.
 */
final class UploadQuota {
  private static final Logger LOG = LoggerFactory.getLogger(UploadQuota.class);
  static final String FILE = "upload-quota.json";
  /** Counted bytes that make a save due at once, without waiting for the minute. */
  static final long SAVE_EVERY_BYTES = 8L << 20;

  /** A read refused: it does not fit in what the month has left; reads are served again from {@code resumes}. */
  static final class Exhausted extends Exception {
    private final Instant resumes;

    Exhausted(String message, Instant resumes) {
      super(message, null, false, false);
      this.resumes = resumes;
    }

    /** Whole seconds from {@code now} until the next month begins (at least 1): {@code Retry-After}. */
    long retryAfterSeconds(Instant now) {
      long millis = Duration.between(now, resumes).toMillis();
      return Math.max(1, (millis + 999) / 1000);
    }
  }

  /** The file's contents. */
  record Count(String month, long servedBytes) {
    Count {
      try {
        YearMonth.parse(month == null ? "" : month);
      } catch (java.time.DateTimeException e) {
        throw new IllegalArgumentException("month must be yyyy-MM, got '" + month + "'", e);
      }
      if (servedBytes < 0) {
        throw new IllegalArgumentException("servedBytes must be >= 0, got " + servedBytes);
      }
    }
  }

  private final Path file;
  private final long quotaBytes;
  private final InstantSource clock;
  private final Executor saver;
  private final Object saving = new Object();
  private YearMonth month;
  private long served;
  /** What the file holds, to tell whether a save is due. */
  private YearMonth savedMonth;
  private long savedServed;
  private boolean saveQueued;
  /** Whether a read was refused this month: the log says so once a month. */
  private boolean refusing;

  private UploadQuota(Path file, long quotaBytes, InstantSource clock, Executor saver, Count count) {
    this.file = file;
    this.quotaBytes = quotaBytes;
    this.clock = clock;
    this.saver = saver;
    this.month = YearMonth.parse(count.month());
    this.served = count.servedBytes();
    this.savedMonth = month;
    this.savedServed = served;
  }

  /**
   * The quota of {@code quotaBytes} a month (0: none) with the count kept in {@code dataDir};
   * {@code saver} runs the saves a read makes due (never on the thread that reads).
   *
   * @throws IOException when the file is there but cannot be read or is not a count
   */
  static UploadQuota open(Path dataDir, long quotaBytes, InstantSource clock, Executor saver) throws IOException {
    if (quotaBytes < 0) {
      throw new IllegalArgumentException("the upload quota must be >= 0 bytes a month (0 = none), got " + quotaBytes);
    }
    Path file = dataDir.resolve(FILE);
    Count count = new Count(monthOf(clock.instant()).toString(), 0);
    if (Files.exists(file)) {
      try {
        count = JsonCodec.parse(Files.readAllBytes(file), Count.class);
      } catch (IllegalArgumentException e) {
        throw new IOException(file + " is not the month's upload count (" + e.getMessage() + "); delete it to count "
            + "this month from 0", e);
      }
    }
    return new UploadQuota(file, quotaBytes, clock, saver, count);
  }

  private static YearMonth monthOf(Instant t) {
    return YearMonth.from(t.atOffset(ZoneOffset.UTC));
  }

  private static Instant startOf(YearMonth m) {
    return m.atDay(1).atStartOfDay(ZoneOffset.UTC).toInstant();
  }

  /**
   * Counts {@code bytes} about to be served against this month, or refuses them when they do not
   * fit in what the month has left (counting nothing then).
   */
  void charge(long bytes) throws Exhausted {
    boolean save;
    synchronized (this) {
      Instant now = clock.instant();
      turnMonth(now);
      if (quotaBytes > 0 && bytes > quotaBytes - served) {
        Instant resumes = startOf(month.plusMonths(1));
        if (!refusing) {
          refusing = true;
          LOG.warn("upload quota of {} bytes for {} (UTC) reached ({} bytes served): fragment reads that do not fit "
              + "in what is left are refused with 503 until {}; audits are still answered", quotaBytes, month, served,
              resumes);
        }
        throw new Exhausted("a read of " + bytes + " bytes does not fit in this holder's upload quota for " + month
            + " (UTC): " + served + " of " + quotaBytes + " bytes served; reads are served again from " + resumes,
            resumes);
      }
      served += bytes;
      save = !saveQueued && (!month.equals(savedMonth) || served - savedServed >= SAVE_EVERY_BYTES);
      saveQueued |= save;
    }
    if (save) {
      try {
        saver.execute(this::saveQuietly);
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        // The holder is closing: its last save comes after the last read.
        synchronized (this) {
          saveQueued = false;
        }
      }
    }
  }

  /** Starts counting a new month once the clock is in it (a clock turned back keeps the later month). */
  private void turnMonth(Instant now) {
    YearMonth current = monthOf(now);
    if (current.isAfter(month)) {
      if (refusing) {
        LOG.info("upload quota: {} (UTC) begins, fragment reads are served again ({} bytes served in {})", current,
            served, month);
      }
      month = current;
      served = 0;
      refusing = false;
    }
  }

  /** This month's count and the quota, now. */
  synchronized HolderMessages.QuotaUse use() {
    turnMonth(clock.instant());
    return new HolderMessages.QuotaUse(month.toString(), served, quotaBytes);
  }

  /** Writes the count down, if it changed since it last was. */
  void save() throws IOException {
    synchronized (saving) {
      Count count;
      synchronized (this) {
        saveQueued = false;
        turnMonth(clock.instant());
        if (month.equals(savedMonth) && served == savedServed) {
          return;
        }
        count = new Count(month.toString(), served);
      }
      Path temp = file.resolveSibling(FILE + ".tmp");
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer bytes = ByteBuffer.wrap(JsonCodec.toJson(count));
        while (bytes.hasRemaining()) {
          out.write(bytes);
        }
        // Synced before the rename: after a power cut the file is the old count or the new one.
        out.force(true);
      }
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      synchronized (this) {
        savedMonth = YearMonth.parse(count.month());
        savedServed = count.servedBytes();
      }
    }
  }

  /** {@link #save}, for the background: a failure is logged, and the next save tries again. */
  void saveQuietly() {
    try {
      save();
    } catch (IOException | RuntimeException e) {
      LOG.warn("cannot write the month's upload count to {}, will try again: {}", file, e.toString());
    }
  }
}
