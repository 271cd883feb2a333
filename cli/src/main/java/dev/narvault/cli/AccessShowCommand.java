package dev.narvault.cli;

import dev.narvault.core.catalog.AccessRecords;
import dev.narvault.core.catalog.ArchivedNar;
import dev.narvault.core.catalog.Catalog;
import dev.narvault.core.nix.NarInfo;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code narvault access show}: what the catalog knows of some store paths' requests. */
@Command(name = "show", mixinStandardHelpOptions = true,
    header = "Show when store paths were last requested.",
    description = {"Prints, per store path (or hash, or nar/ key), the last request and the request count the "
            + "access records hold, under its store hash and (for an archived NAR) its object's key.",
        ""})
final class AccessShowCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "PATH", description = "Store paths, store hashes or nar/ keys.")
  List<String> subjects;

  @Option(names = "--catalog", required = true, description = "Catalog JDBC URL, e.g. jdbc:sqlite:catalog.db.")
  String catalog;

  private final PrintStream out;

  AccessShowCommand(PrintStream out) {
    this.out = out;
  }

  @Override
  public Integer call() throws Exception {
    try (Catalog cat = Catalog.open(catalog)) {
      for (String s : subjects) {
        String base = s.substring(s.lastIndexOf('/') + 1);
        String subject = s.startsWith("nar/") ? s : base.length() >= 32 ? base.substring(0, 32) : base;
        if (!AccessRecords.isSubject(subject)) {
          throw new IllegalArgumentException("not a store path, store hash or nar/ key: '" + s + "'");
        }
        List<String> asked = new ArrayList<>(List.of(subject));
        Optional<ArchivedNar> nar = subject.startsWith("nar/") ? Optional.empty() : cat.narByStoreHash(subject);
        nar.ifPresent(n -> asked.add(n.fileKey()));
        OptionalLong last = cat.access().lastRequest(asked);
        long requests = 0;
        for (String a : asked) {
          requests += cat.access().get(a).map(AccessRecords.Record::requests).orElse(0L);
        }
        out.println(s + ": " + (last.isEmpty() ? "never requested (in the records)"
            : "last requested " + Instant.ofEpochMilli(last.getAsLong()) + ", " + requests + " requests recorded")
            + (nar.isPresent() ? "; archived (" + NarInfo.parse(nar.get().narInfo()).url() + ", "
                + cat.journal().state(subject).map(st -> st.name().toLowerCase(java.util.Locale.ROOT)).orElse("?")
                + ")" : ""));
      }
      return 0;
    }
  }
}
