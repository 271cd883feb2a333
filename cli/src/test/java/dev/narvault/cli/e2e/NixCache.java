package dev.narvault.cli.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.NarWriter;
import dev.narvault.core.nix.NixPublicKey;
import dev.narvault.core.nix.RealNix;
import dev.narvault.core.nix.Sha256Hash;
import dev.narvault.core.nix.StorePath;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;

/**
 * Store paths made by the real Nix and exported by it as a signed file:// binary cache: a
 * directory tree, a ~300 KiB file and a derivation output that refers to the tree, with content
 * unique to each test so tests cannot see each other's paths.
 */
final class NixCache {
  final NixPublicKey publicKey;
  final Path secretKeyFile;
  final List<StorePath> paths = new ArrayList<>();

  private NixCache(NixPublicKey publicKey, Path secretKeyFile) {
    this.publicKey = publicKey;
    this.secretKeyFile = secretKeyFile;
  }

  static NixCache create(Path work) throws Exception {
    Files.createDirectories(work);
    Path sk = work.resolve("key.sec");
    Path pk = work.resolve("key.pub");
    check(RealNix.run("nix-store", "--generate-binary-cache-key", "e2e-cache-1", sk.toString(), pk.toString()));
    return new NixCache(NixPublicKey.parse(Files.readString(pk)), sk);
  }

  /** Builds three paths with Nix, signs them, and exports them to {@code cacheDir} with this compression. */
  List<StorePath> addPaths(Path work, String compression) throws Exception {
    String tag = UUID.randomUUID().toString().substring(0, 8);
    Path tree = work.resolve("tree-" + tag);
    Files.createDirectories(tree.resolve("bin"));
    Files.writeString(tree.resolve("README"), "tree " + tag + "\n");
    Path tool = Files.writeString(tree.resolve("bin/tool"), "#!/bin/sh\necho " + tag + "\n");
    tool.toFile().setExecutable(true);
    Files.createSymbolicLink(tree.resolve("link"), Path.of("README"));
    Path big = work.resolve("big-" + tag);
    StringBuilder text = new StringBuilder();
    Random random = new Random(tag.hashCode());
    while (text.length() < 300_000) {
      text.append(tag).append(' ').append(Long.toHexString(random.nextLong())).append('\n');
    }
    Files.writeString(big, text);
    StorePath treePath = lastStorePath(check(RealNix.run("nix-store", "--add", tree.toString())));
    StorePath bigPath = lastStorePath(check(RealNix.run("nix-store", "--add", big.toString())));
    Path expr = work.resolve("withref-" + tag + ".nix");
    Files.writeString(expr, "derivation { name = \"withref-" + tag + "\"; system = builtins.currentSystem;"
        + " builder = \"/bin/sh\"; args = [ \"-c\" \"echo ${builtins.storePath \"" + treePath + "\"} > $out\" ]; }");
    String built = check(RealNix.run("nix-build", "--no-out-link", expr.toString()));
    StorePath withRef = lastStorePath(built);
    List<StorePath> added = List.of(treePath, bigPath, withRef);
    List<String> sign = new ArrayList<>(List.of("nix", "store", "sign", "--key-file", secretKeyFile.toString()));
    added.forEach(p -> sign.add(p.toString()));
    check(RealNix.run(sign.toArray(String[]::new)));
    List<String> copy = new ArrayList<>(List.of("nix", "copy", "--to",
        "file://" + work.resolve("cache") + "?compression=" + compression));
    added.forEach(p -> copy.add(p.toString()));
    check(RealNix.run(copy.toArray(String[]::new)));
    paths.addAll(added);
    return added;
  }

  Path cacheDir(Path work) {
    return work.resolve("cache");
  }

  /** Removes the paths from the local store so that Nix must substitute them. */
  void deleteLocal() throws Exception {
    RealNix.delete(paths);
    for (StorePath p : paths) {
      assertEquals(false, Files.exists(Path.of(p.toString())), "still in the store: " + p);
    }
  }

  /** The NAR hash of a path as it is in the local store, computed by narvault's NAR writer. */
  static Sha256Hash localNarHash(StorePath path) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NarWriter.write(NarWriter.fromPath(Path.of(path.toString())), out);
    return Sha256Hash.of(out.toByteArray());
  }

  static NarInfo narInfo(Path cacheDir, StorePath path) throws IOException {
    return NarInfo.parse(Files.readAllBytes(cacheDir.resolve(path.hashPart() + ".narinfo")));
  }

  private static StorePath lastStorePath(String output) {
    return StorePath.parse(output.lines().filter(l -> l.startsWith("/nix/store/")).reduce((a, b) -> b)
        .orElseThrow(() -> new IllegalStateException("no store path in: " + output)).strip());
  }

  static String check(RealNix.Result r) {
    if (r.exitCode() != 0) {
      throw new IllegalStateException("nix failed (" + r.exitCode() + "): " + r.output());
    }
    return r.output();
  }
}
