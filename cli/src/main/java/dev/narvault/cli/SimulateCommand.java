package dev.narvault.cli;

import dev.narvault.core.json.JsonCodec;
import dev.narvault.repair.simulation.Simulation;
import dev.narvault.repair.simulation.SimulationConfig;
import dev.narvault.repair.simulation.SimulationResult;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code narvault simulate}: years of volunteers in seconds, through the coordinator's own
 * placement, health and repair-threshold code, one run per code. See {@code docs/durability.md}.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
    header = "Simulate holders over years: pack loss, availability and repair traffic per code.",
    description = {"Simulates holders joining, going offline and online, leaving for good (and with them their "
        + "fragments), whole networks or a Sybil bloc leaving at once, and fragments rotting, over simulated months "
        + "or years. The coordinator's own policy code decides what counts as lost, what to repair first and where "
        + "rebuilt fragments go.",
        "",
        "For each code it prints:",
        "  loss/pack-year  packs lost per pack-year seen, with a 95%% interval",
        "  model           the Markov model fed the measured rates: loss rates too",
        "                  small to observe in a run (11 nines never happen in one)",
        "  availability    share of reads that found k fragments online (counted or",
        "                  kept copies that really exist)",
        "  repair          repair traffic per TB archived per month",
        "  revived         kept copies that counted again when their holders came back",
        "  from kept       rebuilds that needed kept copies as sources",
        "  kept            times kept copies alone kept a pack from being lost",
        "",
        "The coordinator's custody rules are simulated (kept copies, proven-space weights, vetting, domain "
            + "limits); --old-rules simulates the coordinator before them, for comparison. Same --seed, same "
            + "result. See docs/durability.md for the model and the chosen default.",
        ""})
final class SimulateCommand implements Callable<Integer> {
  @picocli.CommandLine.Mixin
  ConfigFile.Mixin config;

  @Option(names = "--code", split = ",", defaultValue = "10+4,20+10,40+20,30+30,40+40",
      description = "Codes as k+m, comma-separated (default: ${DEFAULT-VALUE}).")
  List<String> codes;

  @Option(names = "--threshold", defaultValue = "-1",
      description = "Repair packs below k+R healthy fragments; -1: the coordinator's default, ceil(m/2).")
  int threshold;

  @Option(names = "--holders", defaultValue = "400", description = "Holders at any time (default: ${DEFAULT-VALUE}).")
  int holders;

  @Option(names = "--packs", defaultValue = "1000", description = "Packs stored (default: ${DEFAULT-VALUE}).")
  int packs;

  @Option(names = "--years", defaultValue = "5", description = "Simulated years (default: ${DEFAULT-VALUE}).")
  double years;

  @Option(names = "--population", defaultValue = "0.3@0.98,0.7@0.55", paramLabel = "SHARE@UPTIME,...",
      description = "Holders by uptime: 30%% servers online 98%% of the time and 70%% laptops online 55%% (mean "
          + "0.68) by default (default: ${DEFAULT-VALUE}).")
  String population;

  @Option(names = "--uptime",
      description = "Instead of --population: every holder online this share of the time, e.g. 0.7.")
  Double uptime;

  @Option(names = "--mean-offline", defaultValue = "8h", converter = DurationConverter.class,
      description = "Mean length of an offline period (default: ${DEFAULT-VALUE}).")
  Duration meanOffline;

  @Option(names = "--weibull-shape", defaultValue = "0.6",
      description = "Shape of online/offline period lengths: 1 exponential, < 1 heavy-tailed (default: ${DEFAULT-VALUE}).")
  double shape;

  @Option(names = "--departures", defaultValue = "10%",
      description = "Holders leaving for good per month, e.g. 10%% or 0.1 (default: ${DEFAULT-VALUE}).")
  String departures;

  @Option(names = "--offline-after", defaultValue = "24h", converter = DurationConverter.class,
      description = "The coordinator's --offline-after (default: ${DEFAULT-VALUE}).")
  Duration offlineAfter;

  @Option(names = "--vetting-period", defaultValue = "3d", converter = DurationConverter.class,
      description = "The coordinator's --vetting-period (default: ${DEFAULT-VALUE}).")
  Duration vetting;

  @Option(names = "--vetting-audits", defaultValue = "100",
      description = "The coordinator's --vetting-audits (default: ${DEFAULT-VALUE}).")
  int vettingAudits;

  @Option(names = "--max-unvetted-per-pack", defaultValue = "1",
      description = "The coordinator's --max-unvetted-per-pack (default: ${DEFAULT-VALUE}).")
  int maxUnvetted;

  @Option(names = "--audit-interval", defaultValue = "5m", converter = DurationConverter.class,
      description = "The coordinator's --audit-interval: an online holder passes one audit this often "
          + "(default: ${DEFAULT-VALUE}).")
  Duration auditInterval;

  @Option(names = "--old-rules",
      description = "The coordinator before custody: superseded copies dropped at once, placement weighed by "
          + "claimed free space, no wider-network limit, no vetting limit. For comparison.")
  boolean oldRules;

  @Option(names = "--repair-interval", defaultValue = "1h", converter = DurationConverter.class,
      description = "Time between repair rounds (default: ${DEFAULT-VALUE}).")
  Duration round;

  @Option(names = "--repair-speed", defaultValue = "0", converter = ByteSize.class,
      description = "Repair bytes per second, 0 = unlimited (default: ${DEFAULT-VALUE}).")
  long repairSpeed;

  @Option(names = "--pack-size", defaultValue = "64MiB", converter = ByteSize.class,
      description = "Pack size; a fragment is pack size / k (default: ${DEFAULT-VALUE}).")
  long packSize;

  @Option(names = "--holders-per-network", defaultValue = "4",
      description = "Holders sharing one /24 (default: ${DEFAULT-VALUE}).")
  int perNetwork;

  @Option(names = "--network-failures", defaultValue = "2",
      description = "Times a year a whole /24 leaves at once (default: ${DEFAULT-VALUE}).")
  double networkFailures;

  @Option(names = "--sybil", defaultValue = "0",
      description = "Share of holders in a Sybil bloc (each identity claiming 1000 TiB) leaving at once half-way "
          + "(default: ${DEFAULT-VALUE}).")
  double sybil;

  @Option(names = "--sybil-networks", defaultValue = "0",
      description = "Wider networks (/16s) the Sybil bloc's identities share, each in a /24 of its own; 0: hidden, "
          + "every identity in a wider network of its own (default: ${DEFAULT-VALUE}).")
  int sybilNetworks;

  @Option(names = "--liars", defaultValue = "0", paramLabel = "SHARE@LOSS",
      description = "Lying holders: SHARE of new holders silently keep none of LOSS of what they are given, "
          + "answering as if they kept it all (e.g. 0.05@0.2); the coordinator's audits and audit score find them "
          + "out (default: ${DEFAULT-VALUE}: none).")
  String liars;

  @Option(names = "--away", defaultValue = "0", paramLabel = "SHARE@HOURS",
      description = "Declared absences: SHARE of holders each declare an absence of HOURS (at most 168) about once "
          + "a month, as 'narvault holder-away' does, go quiet that long and come back (e.g. 0.3@60). The "
          + "coordinator's own rules apply: the allowance, vetting, and the margin beyond which absent copies "
          + "stop counting. Compare availability with and without (default: ${DEFAULT-VALUE}: none).")
  String away;

  @Option(names = "--away-undeclared",
      description = "With --away: the same absences, taken without declaring them, so the coordinator sees only "
          + "silence. Run both to see what forgiveness itself costs in availability and saves in repair traffic.")
  boolean awayUndeclared;

  @Option(names = "--corruption", defaultValue = "0.001",
      description = "Chance a fragment rots in a year (default: ${DEFAULT-VALUE}).")
  double corruption;

  @Option(names = "--reads", defaultValue = "20",
      description = "Read attempts sampled per repair round (default: ${DEFAULT-VALUE}).")
  int reads;

  @Option(names = "--seed", defaultValue = "1", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--json", description = "Print the results as JSON.")
  boolean json;

  @Option(names = "--svg", paramLabel = "FILE",
      description = "Also write a chart (nines against overhead, per code) to this SVG file.")
  java.nio.file.Path svg;

  private final PrintStream out;

  SimulateCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() {
    double departureShare = share("--departures", departures);
    List<SimulationConfig.HolderClass> classes = uptime != null
        ? List.of(new SimulationConfig.HolderClass(1, uptime)) : SimulationConfig.HolderClass.parse(population);
    double meanUptime = classes.stream().mapToDouble(h -> h.share() * h.uptime()).sum();
    String people = uptime != null ? String.format(Locale.ROOT, "uptime %.2f", uptime)
        : String.format(Locale.ROOT, "%s, mean uptime %.2f", population, meanUptime);
    List<SimulationResult> results = new ArrayList<>();
    if (!json) {
      out.printf(Locale.ROOT, "%d holders (%s, mean offline %s, %.0f%%/month leaving), %d packs of %s, "
          + "%.1f years, offline after %s, %s%n", holders, people, meanOffline, departureShare * 100, packs,
          (packSize >> 20) + " MiB", years, offlineAfter, oldRules ? "old rules (no custody)" : "custody rules");
      out.println(header());
    }
    for (String code : codes) {
      String[] km = code.strip().split("\\+");
      if (km.length != 2) {
        throw new IllegalArgumentException("--code wants k+m, got " + code);
      }
      int k;
      int m;
      try {
        k = Integer.parseInt(km[0].strip());
        m = Integer.parseInt(km[1].strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--code wants k+m with whole numbers, got " + code, e);
      }
      SimulationConfig config = new SimulationConfig(holders, packs, k, m, threshold, years, meanUptime,
          meanOffline.toSeconds() / 3600.0, shape, departureShare, offlineAfter, vetting, round, repairSpeed,
          Math.max(1, packSize / k), perNetwork, networkFailures, sybil, corruption, reads, seed, classes,
          auditInterval, oldRules ? 0 : vettingAudits, oldRules ? Integer.MAX_VALUE : maxUnvetted, sybilNetworks,
          !oldRules, SimulationConfig.Liars.parse(liars), awayUndeclared ? SimulationConfig.Away.parse(away).undeclared() : SimulationConfig.Away.parse(away));
      Progress progress = new Progress(code);
      SimulationResult r = new Simulation(config).run(progress::show);
      progress.done();
      results.add(r);
      if (!json) {
        out.println(row(r));
        if (r.liarsDisqualified() > 0 || r.lostCopiesFoundByAudits() > 0) {
          out.printf(Locale.ROOT, "        liars: %d disqualified, %d copies they claimed and did not keep found by "
              + "audits%n", r.liarsDisqualified(), r.lostCopiesFoundByAudits());
        }
        if (r.absencesDeclared() > 0 || r.absencesRefused() > 0) {
          out.printf(Locale.ROOT, "        absences: %d %s, %d refused (allowance spent or not vetted)%n",
              r.absencesDeclared(), awayUndeclared ? "taken undeclared" : "declared", r.absencesRefused());
        }
      }
    }
    if (json) {
      out.println(new String(JsonCodec.toJson(results), StandardCharsets.UTF_8));
    }
    if (svg != null) {
      String title = String.format(Locale.ROOT, "%s, %.0f%%/month leaving, offline after %s", people,
          departureShare * 100, offlineAfter);
      try {
        java.nio.file.Files.writeString(svg, SimulationPlot.svg(results, title, 11));
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("cannot write " + svg + ": " + e.getMessage(), e);
      }
    }
    return 0;
  }

  /** "10%" or "0.1" as a share in [0, 1]. */
  static double share(String option, String value) {
    String text = value.strip();
    try {
      double share = text.endsWith("%") ? Double.parseDouble(text.substring(0, text.length() - 1)) / 100
          : Double.parseDouble(text);
      if (!(share >= 0 && share <= 1)) {
        throw new IllegalArgumentException(option + " must be between 0 and 100%, got " + value);
      }
      return share;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + " wants a share such as 10% or 0.1, got " + value, e);
    }
  }

  static String header() {
    return String.format(Locale.ROOT, "%-7s %-4s %-8s %-32s %-10s %-7s %-13s %-12s %-8s %-8s %-10s %s", "code",
        "r", "overhead", "loss/pack-year (95% interval)", "model", "nines", "availability", "repair/TB/mo",
        "repair h", "revived", "from kept", "kept");
  }

  static String row(SimulationResult r) {
    String observed = r.losses() == 0
        ? String.format(Locale.ROOT, "0 in %.0f (< %.1e)", r.packYears(), r.lossHigh())
        : String.format(Locale.ROOT, "%.2e (%.1e–%.1e)", r.lossPerPackYear(), r.lossLow(), r.lossHigh());
    // Below 1e-15 the model's arithmetic is no longer meaningful (and soon underflows): a bound.
    boolean tiny = r.modelledLossPerPackYear() < 1e-15;
    String model = tiny ? "< 1e-15" : String.format(Locale.ROOT, "%.1e", r.modelledLossPerPackYear());
    String nines = tiny ? "> 15" : String.format(Locale.ROOT, "%.1f", -Math.log10(r.modelledLossPerPackYear()));
    return String.format(Locale.ROOT, "%-7s %-4d %-8.2f %-32s %-10s %-7s %-13s %-12s %-8.1f %-8d %-10d %d",
        r.code(),
        r.threshold(), r.overhead(), observed, model, nines,
        String.format(Locale.ROOT, "%.5f", r.availability()),
        String.format(Locale.ROOT, "%.0f GB", r.repairPerMonth() * 1000), r.modelRepairHours(), r.copiesRevived(),
        r.repairsFromKeptCopies(), r.packsKeptByCustody());
  }

  /** A bar on a terminal, a line per quarter otherwise; on stderr, so --json stays clean. */
  private static final class Progress {
    private final String code;
    private final boolean terminal = System.console() != null && System.console().isTerminal();
    private int shown = -1;

    Progress(String code) {
      this.code = code;
    }

    void show(double done) {
      int percent = (int) (done * 100);
      if (terminal && percent != shown) {
        int filled = percent / 4;
        System.err.printf(Locale.ROOT, "\r  %-7s [%s%s] %3d%%", code, "#".repeat(filled), " ".repeat(25 - filled),
            percent);
      } else if (!terminal && percent / 25 != shown / 25) {
        System.err.printf(Locale.ROOT, "  %s: %d%% simulated%n", code, percent);
      }
      shown = percent;
    }

    void done() {
      if (terminal) {
        System.err.print("\r" + " ".repeat(50) + "\r");
      }
    }
  }
}
