package dev.narvault.core.nix;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code nix} commands (Debian's nix-bin) as root without a daemon, for tests. */
public final class RealNix {
  public static final String NIX_CONFIG =
      "experimental-features = nix-command\nbuild-users-group =\nsandbox = false\nsubstituters =\n";

  /** A finished command: its exit code and what it printed (stdout and stderr together). */
  public record Result(int exitCode, String output) {}

  private RealNix() {}

  public static boolean available() {
    return Files.isExecutable(Path.of("/usr/bin/nix-store"));
  }

  public static Result run(String... command) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
    pb.environment().put("NIX_CONFIG", NIX_CONFIG);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new IOException("timed out: " + String.join(" ", command));
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /** {@code nix-store --realise} of {@code paths} from the substituter at {@code url} only. */
  public static Result realise(String url, NixPublicKey trusted, List<StorePath> paths)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("nix-store", "--realise"));
    paths.forEach(p -> cmd.add(p.toString()));
    cmd.addAll(List.of("--option", "substituters", url, "--option", "trusted-public-keys", trusted.toString(),
        "--option", "narinfo-cache-negative-ttl", "0", "--option", "narinfo-cache-positive-ttl", "0"));
    return run(cmd.toArray(String[]::new));
  }

  /**
   * Removes paths from the local store together with everything that refers to them (such as
   * the .drv files that built them); ignores paths that are absent.
   */
  public static void delete(List<StorePath> paths) throws IOException, InterruptedException {
    List<String> present = paths.stream().map(StorePath::toString).filter(p -> Files.exists(Path.of(p))).toList();
    if (present.isEmpty()) {
      return;
    }
    List<String> query = new ArrayList<>(List.of("nix-store", "--query", "--referrers-closure"));
    query.addAll(present);
    Result closure = run(query.toArray(String[]::new));
    List<String> delete = new ArrayList<>(List.of("nix-store", "--delete"));
    closure.output().lines().filter(l -> l.startsWith(StorePath.STORE_DIR + "/")).forEach(delete::add);
    run(delete.toArray(String[]::new));
  }
}
