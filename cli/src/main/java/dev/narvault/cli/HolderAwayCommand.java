package dev.narvault.cli;

import dev.narvault.core.catalog.HolderAway;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.time.format.DateTimeParseException;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code narvault holder-away}: a holder declares an absence, or that it is back. */
@Command(name = "holder-away", mixinStandardHelpOptions = true,
    header = "Tell the coordinator a holder will be away for a while, so its fragments are not rebuilt elsewhere.",
    description = {"Declares, signed with the holder's identity key from its data directory, that the holder will "
            + "be unreachable until a time at most 7 days ahead (a move, a holiday, a long weekend). Until then the "
            + "coordinator counts it away rather than offline: its fragments still count towards their packs' "
            + "health, so repair does not rebuild them elsewhere and they are not deleted when it returns, and it "
            + "receives no new fragments. Its fragments are not read while it is away; a pack whose other copies "
            + "run short is repaired regardless.",
        "",
        "Run it while the holder is up and reachable. Only a vetted holder in good standing may declare an "
            + "absence. Away time comes from an allowance of 7 days that refills by 7 days every 30; coming back "
            + "early with --back returns the unused part. The answer shows the absence as recorded and the "
            + "allowance left.",
        ""})
final class HolderAwayCommand implements Callable<Integer> {
  @Mixin
  HolderCoordinatorOptions holder;

  @ArgGroup(exclusive = true, multiplicity = "1")
  When when;

  /** Exactly one of: until a time, for a while, or back now. */
  static final class When {
    @Option(names = "--until", paramLabel = "TIME",
        description = "Away until this time, in UTC as ISO-8601 (e.g. 2026-12-14T09:00:00Z).")
    String until;

    @Option(names = "--for", paramLabel = "DURATION", converter = DurationConverter.class,
        description = "Away for this long from now (e.g. 60h, 3d; at most 7d).")
    Duration length;

    @Option(names = "--back", description = "The holder is back: end the absence now.")
    boolean back;
  }

  private final PrintStream out;
  private final InstantSource clock;

  HolderAwayCommand(PrintStream out) {
    this(out, InstantSource.system());
  }

  HolderAwayCommand(PrintStream out, InstantSource clock) {
    this.out = out;
    this.clock = clock;
  }

  @Override
  public Integer call() throws Exception {
    long now = clock.millis();
    long untilMillis;
    if (when.back) {
      untilMillis = 0;
    } else if (when.length != null) {
      if (when.length.isZero() || when.length.isNegative() || when.length.compareTo(HolderAway.MAX_AWAY) > 0) {
        throw new IllegalArgumentException("--for must be between 1s and " + HolderAway.MAX_AWAY.toDays() + "d, got "
            + when.length);
      }
      untilMillis = now + when.length.toMillis();
    } else {
      try {
        untilMillis = Instant.parse(when.until).toEpochMilli();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("--until needs a UTC time such as 2026-12-14T09:00:00Z, got '"
            + when.until + "'");
      }
      if (untilMillis <= now) {
        throw new IllegalArgumentException("--until " + when.until + " is not in the future (use --back to end an "
            + "absence)");
      }
    }
    HolderMessages.Standing s = HolderServer.announceAway(holder.dataDir, holder.coordinator, clock, untilMillis);
    Duration left = Duration.ofMillis(s.awayAllowanceMillis());
    if (s.awayUntilMillis() > now) {
      out.printf("holder %s: away until %s (recorded by the coordinator); away time left: %dd %dh%n", s.holderId(),
          Instant.ofEpochMilli(s.awayUntilMillis()), left.toDays(), left.toHoursPart());
    } else {
      out.printf("holder %s: back; away time left: %dd %dh%n", s.holderId(), left.toDays(), left.toHoursPart());
    }
    return 0;
  }
}
