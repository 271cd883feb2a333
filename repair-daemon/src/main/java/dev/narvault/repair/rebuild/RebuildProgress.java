package dev.narvault.repair.rebuild;

import java.io.PrintStream;
import java.time.InstantSource;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How far a rebuild is, as a {@code progress:} line every {@value #EVERY_SECONDS} s (for logs, as
 * migrate prints its own): the step, holders and fragments listed, ids read and documents found
 * (with the share of the id space done: ids are read in order and spread evenly), packs and
 * aliases restored, and the current step's rate.
 */
final class RebuildProgress {
  static final int EVERY_SECONDS = 5;

  /** The steps of a rebuild, in order. */
  enum Step {
    LISTING("listing holders"), READING("reading documents"), MATCHING("matching fragments to packs"),
    RESTORING("restoring packs"), ALIASES("restoring aliases");

    final String text;

    Step(String text) {
      this.text = text;
    }
  }

  private final PrintStream out;
  private final InstantSource clock;
  private final int holders;
  private final long start;
  private long last;
  private volatile Step step = Step.LISTING;
  private volatile long stepStart;
  private final AtomicInteger holdersListed = new AtomicInteger();
  private final AtomicLong fragmentsListed = new AtomicLong();
  private final AtomicLong idsRead = new AtomicLong();
  private final AtomicLong documents = new AtomicLong();
  private final AtomicLong packs = new AtomicLong();
  private final AtomicLong aliases = new AtomicLong();
  /** Where the ids being read are in the space of ids, 0 to 1. */
  private volatile double share;

  RebuildProgress(PrintStream out, InstantSource clock, int holders) {
    this.out = out;
    this.clock = clock;
    this.holders = holders;
    this.start = clock.millis();
    this.last = start;
    this.stepStart = start;
  }

  /** Starts a step; returns the seconds the one before took. */
  double step(Step next) {
    long now = clock.millis();
    double took = (now - stepStart) / 1000.0;
    step = next;
    stepStart = now;
    return took;
  }

  void listed(long fragments) {
    fragmentsListed.addAndGet(fragments);
    tick();
  }

  void holderListed() {
    holdersListed.incrementAndGet();
    tick();
  }

  /** An id read (or set aside); {@code id} its first bytes at least. */
  void read(byte[] id) {
    idsRead.incrementAndGet();
    share = (((id[0] & 0xff) << 8) | (id[1] & 0xff)) / 65536.0;
    tick();
  }

  void document() {
    documents.incrementAndGet();
  }

  void pack() {
    packs.incrementAndGet();
    tick();
  }

  void alias() {
    aliases.incrementAndGet();
    tick();
  }

  long fragmentsListed() {
    return fragmentsListed.get();
  }

  long idsRead() {
    return idsRead.get();
  }

  /** Seconds since the rebuild began. */
  double seconds() {
    return (clock.millis() - start) / 1000.0;
  }

  /** Prints the line if it is time to. */
  synchronized void tick() {
    long now = clock.millis();
    if (now - last < EVERY_SECONDS * 1000L) {
      return;
    }
    last = now;
    out.println("progress: " + line(now));
  }

  String line(long now) {
    double stepSeconds = Math.max(1, now - stepStart) / 1000.0;
    Step s = step;
    String reading = s == Step.READING ? String.format(Locale.ROOT, " (%.1f%% of the id space, %,.0f ids/s)",
        100 * share, idsRead.get() / stepSeconds) : "";
    String restoring = s == Step.RESTORING ? String.format(Locale.ROOT, " (%,.0f packs/s)", packs.get() / stepSeconds)
        : "";
    return String.format(Locale.ROOT, "%s; %d of %d holders listed, %,d fragments listed; %,d ids read%s, "
            + "%,d documents; %,d packs restored%s, %,d aliases; %s", s.text, holdersListed.get(), holders,
        fragmentsListed.get(), idsRead.get(), reading, documents.get(), packs.get(), restoring, aliases.get(),
        human((now - start) / 1000));
  }

  static String human(long seconds) {
    if (seconds < 120) {
      return seconds + " s";
    }
    if (seconds < 2 * 3600) {
      return seconds / 60 + " min";
    }
    return String.format(Locale.ROOT, "%d h %02d min", seconds / 3600, seconds / 60 % 60);
  }
}
