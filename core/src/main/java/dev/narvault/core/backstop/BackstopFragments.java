package dev.narvault.core.backstop;

import dev.narvault.core.catalog.Backstops;
import dev.narvault.core.pack.FragmentReader;
import dev.narvault.core.pack.PackLayout;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.core.s3.OpenedObject;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;

/**
 * The data fragments of one pack, read out of its backstop object with ranged GETs. Unverified
 * like any holder's bytes: {@link dev.narvault.core.pack.PackReader} checks every block against
 * the manifest's hashes, so a backstop that rotted, was truncated or replaced is refused block by
 * block. Parity fragments are not in the object; asking for one fails.
 */
public final class BackstopFragments implements FragmentReader {
  private final ObjectSource bucket;
  private final Backstops.Backstop backstop;
  private final PackLayout layout;

  /** @param bucket the bucket {@code backstop} names */
  public BackstopFragments(ObjectSource bucket, Backstops.Backstop backstop, PackLayout layout) {
    this.bucket = bucket;
    this.backstop = backstop;
    this.layout = layout;
  }

  @Override
  public byte[] read(int fragmentIndex, long offset, int length) throws IOException {
    if (fragmentIndex < 0 || fragmentIndex >= layout.dataFragmentCount()) {
      throw new IOException("the backstop " + backstop.location() + " holds data fragments only, not fragment "
          + fragmentIndex);
    }
    if (offset < 0 || length < 0 || offset + length > layout.fragmentSize()) {
      throw new IllegalArgumentException("range " + offset + "+" + length + " outside fragment of "
          + layout.fragmentSize());
    }
    byte[] out = new byte[length];
    long from = fragmentIndex * layout.fragmentSize() + offset;
    // Past the pack's end the fragment is zero padding, which the object does not store.
    int stored = (int) Math.max(0, Math.min(length, layout.packLength() - from));
    if (stored == 0) {
      return out;
    }
    String range = "bytes=" + from + "-" + (from + stored - 1);
    try (OpenedObject object = bucket.openObject(backstop.key(), Optional.of(range))) {
      if (object.contentRange().isEmpty() && object.length() != stored) {
        throw new IOException("the backstop " + backstop.location() + " answered " + range + " with the whole object");
      }
      InputStream in = object.stream();
      int n = in.readNBytes(out, 0, stored);
      if (n != stored) {
        throw new IOException("the backstop " + backstop.location() + " gave " + n + " of " + stored + " bytes of "
            + range);
      }
    }
    return out;
  }
}
