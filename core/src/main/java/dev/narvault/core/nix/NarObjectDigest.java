package dev.narvault.core.nix;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * What was measured of a stored NAR object: hash and size of the stored (compressed) bytes, and of
 * the NAR inside when narvault can decompress it (xz, none).
 */
public record NarObjectDigest(
    Sha256Hash fileHash, long fileSize, Optional<Sha256Hash> narHash, OptionalLong narSize) {}
