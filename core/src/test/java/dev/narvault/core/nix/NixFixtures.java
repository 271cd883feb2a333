package dev.narvault.core.nix;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The binary caches the real Nix 2.8 wrote (see {@code src/test/resources/nix/regenerate.sh}):
 * three store paths exported with xz, zstd and no compression, signed with key test-cache-1.
 */
public final class NixFixtures {
  public static final List<String> COMPRESSIONS = List.of("xz", "zstd", "none");

  private NixFixtures() {}

  public static Path root() {
    try {
      return Path.of(NixFixtures.class.getResource("/nix/paths.txt").toURI()).getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  public static Path cache(String compression) {
    return root().resolve("cache-" + compression);
  }

  public static List<Path> narInfoFiles(String compression) {
    try (Stream<Path> files = Files.list(cache(compression))) {
      return files.filter(p -> p.toString().endsWith(".narinfo")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static NarInfo narInfo(String compression, String name) throws IOException {
    for (Path p : narInfoFiles(compression)) {
      NarInfo info = NarInfo.parse(Files.readAllBytes(p));
      if (info.storePath().name().equals(name)) {
        return info;
      }
    }
    throw new IllegalArgumentException("no fixture named " + name);
  }

  public static InputStream narObject(String compression, NarInfo info) throws IOException {
    return Files.newInputStream(cache(compression).resolve(info.url()));
  }

  public static NixPublicKey publicKey() throws IOException {
    return NixPublicKey.parse(Files.readString(root().resolve("keys/test-cache-1.pub")));
  }

  public static NixSecretKey secretKey() throws IOException {
    return NixSecretKey.parse(Files.readString(root().resolve("keys/test-cache-1.sec")));
  }
}
