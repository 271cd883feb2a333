package dev.narvault.core.pack;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.Sha256Hash;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything needed to read, verify and repair one pack, and to rebuild its catalog rows:
 * the code, the geometry, every fragment's id and block hashes, and every NAR's place and narinfo.
 * Serialised as canonical JSON by {@link ManifestCodec}; format {@value #FORMAT}.
 *
 * <p>The constructor checks the manifest is self-consistent (fragment ids match their block
 * hashes, NARs lie inside the pack without overlapping), so a parsed manifest can be trusted as
 * far as its signature goes.
 *
 * <p>{@code replaces}: the pack this one was rewritten from ({@code narvault forget}, without its
 * forgotten NARs), or null. Absent from the JSON when null, so the manifests written before it
 * keep their bytes and pack ids; signed like every other field, so that a catalog rebuilt from the
 * holders knows the old pack is retired and which pack holds its live NARs now.
 */
@JsonPropertyOrder(alphabetic = true)
public record Manifest(
    String format,
    String code,
    int dataFragmentCount,
    int parityFragmentCount,
    long packLength,
    long fragmentSize,
    int blockSize,
    List<Fragment> fragments,
    List<Nar> nars,
    @JsonInclude(JsonInclude.Include.NON_NULL) String replaces) {

  public static final String FORMAT = "narvault-manifest/1";
  /** Reed-Solomon over GF(2^8), polynomial 0x11D, with Backblaze JavaReedSolomon's matrix. */
  public static final String CODE = "rs-gf256-0x11d-backblaze";

  /** One fragment: its index in the pack (data first), id, length and block hashes. */
  @JsonPropertyOrder(alphabetic = true)
  public record Fragment(int index, FragmentId id, long length, BlockHashes blockHashes) {}

  /**
   * One NAR object in the pack: its S3 key, where it lies, its FileHash and its narinfo text, kept
   * byte for byte. When two store paths' narinfos name the same NAR object, the object is stored
   * once and listed twice, the second entry right after the first with the same key and place.
   */
  @JsonPropertyOrder(alphabetic = true)
  public record Nar(String key, long offset, long length, String fileHash, String narInfo) {
    public Nar {
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("NAR key must not be empty");
      }
      if (offset < 0 || length < 1) {
        throw new IllegalArgumentException("NAR " + key + " has bad offset/length " + offset + "/" + length);
      }
      Sha256Hash.parse(fileHash);
      NarInfo.parse(narInfo);
    }

    public Sha256Hash fileSha256() {
      return Sha256Hash.parse(fileHash);
    }

    public NarInfo parsedNarInfo() {
      return NarInfo.parse(narInfo);
    }
  }

  public Manifest {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("unsupported manifest format '" + format + "', expected " + FORMAT);
    }
    if (!CODE.equals(code)) {
      throw new IllegalArgumentException("unsupported code '" + code + "', expected " + CODE);
    }
    fragments = List.copyOf(fragments);
    nars = List.copyOf(nars);
    PackLayout layout = new PackLayout(dataFragmentCount, parityFragmentCount, packLength, fragmentSize, blockSize);
    checkFragments(layout, fragments);
    checkNars(packLength, nars);
    if (replaces != null && !replaces.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("replaces must be a pack id (64 hex digits), got '" + replaces + "'");
    }
  }

  /** A manifest that replaces no pack. */
  public Manifest(String format, String code, int dataFragmentCount, int parityFragmentCount, long packLength,
      long fragmentSize, int blockSize, List<Fragment> fragments, List<Nar> nars) {
    this(format, code, dataFragmentCount, parityFragmentCount, packLength, fragmentSize, blockSize, fragments, nars,
        null);
  }

  /** The pack this one was rewritten from, if any. */
  public java.util.Optional<PackId> replacedPack() {
    return java.util.Optional.ofNullable(replaces).map(PackId::new);
  }

  /** A manifest for a freshly encoded pack. */
  public static Manifest of(PackLayout layout, List<FragmentDigest> digests, List<Nar> nars) {
    return of(layout, digests, nars, java.util.Optional.empty());
  }

  /** A manifest for a pack freshly encoded as the rewrite of {@code replaces}. */
  public static Manifest of(PackLayout layout, List<FragmentDigest> digests, List<Nar> nars,
      java.util.Optional<PackId> replaces) {
    List<Fragment> fragments = new ArrayList<>();
    for (int i = 0; i < digests.size(); i++) {
      FragmentDigest d = digests.get(i);
      fragments.add(new Fragment(i, d.id(), d.length(), d.blockHashes()));
    }
    return new Manifest(FORMAT, CODE, layout.dataFragmentCount(), layout.parityFragmentCount(),
        layout.packLength(), layout.fragmentSize(), layout.blockSize(), fragments, nars,
        replaces.map(PackId::hex).orElse(null));
  }

  public PackLayout layout() {
    return new PackLayout(dataFragmentCount, parityFragmentCount, packLength, fragmentSize, blockSize);
  }

  private static void checkFragments(PackLayout layout, List<Fragment> fragments) {
    if (fragments.size() != layout.totalFragmentCount()) {
      throw new IllegalArgumentException("manifest lists " + fragments.size() + " fragments, code needs "
          + layout.totalFragmentCount());
    }
    for (int i = 0; i < fragments.size(); i++) {
      Fragment f = fragments.get(i);
      if (f.index() != i) {
        throw new IllegalArgumentException("fragment at position " + i + " has index " + f.index());
      }
      if (f.length() != layout.fragmentSize()) {
        throw new IllegalArgumentException("fragment " + i + " has length " + f.length()
            + ", layout says " + layout.fragmentSize());
      }
      if (f.blockHashes().count() != layout.blockCount()) {
        throw new IllegalArgumentException("fragment " + i + " has " + f.blockHashes().count()
            + " block hashes, layout needs " + layout.blockCount());
      }
      if (!f.blockHashes().fragmentId(f.length(), layout.blockSize()).equals(f.id())) {
        throw new IllegalArgumentException("fragment " + i + " id " + f.id() + " does not match its block hashes");
      }
    }
  }

  private static void checkNars(long packLength, List<Nar> nars) {
    long end = 0;
    Nar previous = null;
    for (Nar nar : nars) {
      if (previous != null && isAlias(previous, nar)) {
        // Another narinfo for the very same NAR object (same key, bytes and place): allowed.
        continue;
      }
      previous = nar;
      if (nar.offset() < end) {
        throw new IllegalArgumentException("NAR " + nar.key() + " at " + nar.offset()
            + " overlaps the previous one or is out of order");
      }
      end = nar.offset() + nar.length();
      if (end > packLength) {
        throw new IllegalArgumentException("NAR " + nar.key() + " ends at " + end + ", past the pack's "
            + packLength + " bytes");
      }
    }
  }

  /** Two entries for one stored object: two store paths whose narinfos name the same NAR object. */
  private static boolean isAlias(Nar a, Nar b) {
    return a.key().equals(b.key()) && a.offset() == b.offset() && a.length() == b.length()
        && a.fileHash().equals(b.fileHash()) && !a.narInfo().equals(b.narInfo());
  }
}
