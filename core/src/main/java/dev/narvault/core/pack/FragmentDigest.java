package dev.narvault.core.pack;

/** What identifies and verifies one fragment: its id, length and block hashes. */
public record FragmentDigest(FragmentId id, long length, BlockHashes blockHashes) {}
