package dev.narvault.core.nix;

import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * A store path {@code /nix/store/<32 nix32 characters>-<name>}, validated by Nix's rules.
 *
 * @param hashPart the 32-character nix32 digest part (what a narinfo file is named after)
 * @param name 1–211 characters of {@code [A-Za-z0-9+\-._?=]}, not {@code .} or {@code ..}, not
 *     starting with {@code .-} or {@code ..-}
 */
public record StorePath(String hashPart, String name) {
  public static final String STORE_DIR = "/nix/store";
  public static final int HASH_PART_LENGTH = 32;
  private static final int MAX_NAME_LENGTH = 211;

  public StorePath {
    validateHashPart(hashPart);
    validateName(name);
  }

  /** Parses a full path such as {@code /nix/store/abc…-hello-2.12}. */
  public static StorePath parse(String path) {
    String prefix = STORE_DIR + "/";
    if (!path.startsWith(prefix)) {
      throw new IllegalArgumentException("store path must start with " + prefix + ": '" + path + "'");
    }
    return parseBaseName(path.substring(prefix.length()));
  }

  /** Parses a base name such as {@code abc…-hello-2.12}, as narinfo References list them. */
  public static StorePath parseBaseName(String baseName) {
    if (baseName.length() < HASH_PART_LENGTH + 2 || baseName.charAt(HASH_PART_LENGTH) != '-') {
      throw new IllegalArgumentException(
          "store path base name must be <32-char hash>-<name>: '" + baseName + "'");
    }
    return new StorePath(
        baseName.substring(0, HASH_PART_LENGTH), baseName.substring(HASH_PART_LENGTH + 1));
  }

  public static void validateHashPart(String hashPart) {
    if (hashPart == null || hashPart.length() != HASH_PART_LENGTH || !NixBase32.isNix32(hashPart)) {
      throw new IllegalArgumentException(
          "store path hash part must be 32 nix32 characters: '" + hashPart + "'");
    }
  }

  private static void validateName(String name) {
    if (name == null || name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
      throw new IllegalArgumentException(
          "store path name must have 1 to " + MAX_NAME_LENGTH + " characters: '" + name + "'");
    }
    if (name.equals(".") || name.equals("..") || name.startsWith(".-") || name.startsWith("..-")) {
      throw new IllegalArgumentException("store path name not allowed: '" + name + "'");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "+-._?=".indexOf(c) >= 0;
      if (!ok) {
        throw new IllegalArgumentException(
            "invalid character '" + c + "' in store path name '" + name + "'");
      }
    }
  }

  /**
   * The path {@code nix-store --add} (recursive, SHA-256) gives a tree with NAR hash
   * {@code narHash}, named {@code name}, referring to {@code references}: Nix's
   * {@code makeStorePath("source:<refs>", "sha256:<hex>", name)} with the digest folded to 20 bytes.
   */
  public static StorePath makeSourcePath(String name, Sha256Hash narHash, Collection<StorePath> references) {
    StringBuilder type = new StringBuilder("source");
    references.stream().map(StorePath::toString).sorted().forEach(r -> type.append(':').append(r));
    String s = type + ":sha256:" + narHash.toHex() + ":" + STORE_DIR + ":" + name;
    byte[] full = Sha256Hash.of(s.getBytes(StandardCharsets.UTF_8)).bytes();
    byte[] folded = new byte[20];
    for (int i = 0; i < full.length; i++) {
      folded[i % 20] ^= full[i];
    }
    return new StorePath(NixBase32.encode(folded), name);
  }

  public String baseName() {
    return hashPart + "-" + name;
  }

  @Override
  public String toString() {
    return STORE_DIR + "/" + baseName();
  }
}
