package dev.narvault.cli;

import dev.narvault.core.catalog.AuditScore;
import dev.narvault.core.catalog.SuspensionScore;
import dev.narvault.core.holder.HolderMessages;
import dev.narvault.core.json.JsonCodec;
import dev.narvault.holder.server.HolderServer;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code narvault holder-status}: what the coordinator last told a holder of its standing. */
@Command(name = "holder-status", mixinStandardHelpOptions = true,
    header = "Show a holder's standing as the coordinator last told it.",
    description = {"Prints what the coordinator answered the holder's last heartbeat with (kept in the data "
        + "directory as " + HolderServer.STANDING_FILE + "): its state, vetting progress, audit and suspension "
        + "scores, the fragments of it that count, where its endpoint was proven, and warnings worth acting on. "
        + "Exits 1 when the holder has had no answer yet.",
        ""})
final class HolderStatusCommand implements Callable<Integer> {
  @Option(names = "--data-dir", required = true, description = "The holder's data directory.")
  Path dataDir;

  @Option(names = "--json", description = "Print the standing as JSON.")
  boolean json;

  private final PrintStream out;
  private final InstantSource clock;

  HolderStatusCommand(PrintStream out) {
    this(out, InstantSource.system());
  }

  HolderStatusCommand(PrintStream out, InstantSource clock) {
    this.out = out;
    this.clock = clock;
  }

  @Override
  public Integer call() throws Exception {
    Optional<HolderMessages.Standing> last = HolderServer.lastStanding(dataDir);
    if (last.isEmpty()) {
      System.err.println("narvault: no standing in " + dataDir + " yet: the holder has had no answer from the "
          + "coordinator (is it running, with --coordinator?)");
      return 1;
    }
    HolderMessages.Standing s = last.get();
    if (json) {
      out.println(new String(JsonCodec.toJson(s), StandardCharsets.UTF_8));
      return 0;
    }
    out.print(render(s, clock.instant()));
    return 0;
  }

  static String render(HolderMessages.Standing s, Instant now) {
    StringBuilder b = new StringBuilder();
    Instant at = Instant.ofEpochMilli(s.atMillis());
    b.append(String.format(Locale.ROOT, "holder %s: standing as of %s (%s ago)%n", s.holderId(), at,
        ago(Duration.between(at, now))));
    String vetting = s.vetted() ? "vetted" : String.format(Locale.ROOT, "vetting: %d of %d audits passed, period "
        + "ends %s", s.auditsPassed(), s.auditsToVet(), Instant.ofEpochMilli(s.vettedFromMillis()));
    b.append(String.format(Locale.ROOT, "state:                %s (%s)%n", s.state(), vetting));
    b.append(String.format(Locale.ROOT, "audit score:          %.4f (suspect below %.2f, disqualified below %.2f)%n",
        s.auditScore(), AuditScore.SUSPECT_BELOW, AuditScore.DISQUALIFIED_BELOW));
    b.append(String.format(Locale.ROOT, "suspension score:     %.4f (suspended below %.1f)%n", s.suspensionScore(),
        SuspensionScore.SUSPENDED_BELOW));
    b.append(String.format(Locale.ROOT, "fragments that count: %d%n", s.countedFragments()));
    b.append(String.format(Locale.ROOT, "endpoint proven at:   %s, last reached %s%n",
        s.provenAddress().isEmpty() ? "(not proven)" : s.provenAddress(),
        s.reachedMillis() == 0 ? "never" : ago(Duration.ofMillis(Math.max(0, s.atMillis() - s.reachedMillis())))
            + " before"));
    b.append(String.format(Locale.ROOT, "clock:                %+d s against the coordinator's%n",
        s.clockSkewMillis() / 1000));
    if (s.awayUntilMillis() > s.atMillis()) {
      b.append(String.format(Locale.ROOT, "away until:           %s (declared)%n", Instant.ofEpochMilli(s.awayUntilMillis())));
    }
    b.append(String.format(Locale.ROOT, "away time left:       %s%n", ago(Duration.ofMillis(s.awayAllowanceMillis()))));
    if (s.warnings().isEmpty()) {
      b.append("warnings:             none\n");
    } else {
      b.append("warnings:\n");
      s.warnings().forEach(w -> b.append("  - ").append(w).append('\n'));
    }
    return b.toString();
  }

  private static String ago(Duration d) {
    long seconds = Math.max(0, d.toSeconds());
    return seconds < 120 ? seconds + " s" : seconds < 7200 ? seconds / 60 + " min" : seconds / 3600 + " h";
  }
}
