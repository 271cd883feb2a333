/**
 * Nix's binary-cache formats, as the real Nix client reads and writes them.
 *
 * <p>Start with {@link dev.narvault.core.nix.NarInfo} (parse and render a {@code .narinfo}
 * byte for byte), then {@link dev.narvault.core.nix.TrustedKeys} (signature checks over the
 * fingerprint) and {@link dev.narvault.core.nix.NarObjectVerifier} (FileHash, FileSize, NarHash
 * and NarSize of a stored NAR object, xz through the system's liblzma or xz-java:
 * {@code XzDecoder}). {@link dev.narvault.core.nix.NixBase32},
 * {@link dev.narvault.core.nix.Sha256Hash} and {@link dev.narvault.core.nix.StorePath} are the
 * small value types underneath; {@link dev.narvault.core.nix.NarWriter} produces genuine NARs.
 */
package dev.narvault.core.nix;
