package dev.narvault.repair;

import dev.narvault.core.catalog.FragmentPlacement;
import dev.narvault.core.pack.FragmentCorruptException;
import dev.narvault.core.pack.FragmentReader;
import dev.narvault.core.pack.Manifest;
import dev.narvault.core.pack.PackLayout;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where one repair reads each source fragment of a pack: the copy on a holder, and for a pack
 * with fewer than k good copies, its backstop's data fragments after the holders' copies. A data
 * fragment with a holder copy is read from the holder; when that read fails or a block of it does
 * not match the manifest (a copy the holder quarantined answers 404), the same bytes come from the
 * backstop instead, and the holder's failure is kept for {@link #holderFailures()}. A data fragment
 * with no holder copy is read from the backstop alone.
 *
 * <p>So a failure the {@link dev.narvault.core.pack.FragmentRebuilder} records for an index the
 * backstop {@linkplain #backstopHas has} is the backstop's, never a holder's: the holder's bytes
 * it got were verified here first. Holder bytes are hashed twice that way (here and by the
 * rebuilder), only for packs read with a backstop.
 */
final class RepairSources implements FragmentReader {
  /** Reads unverified bytes of a fragment from the holder of one of its copies. */
  @FunctionalInterface
  interface HolderRead {
    byte[] read(FragmentPlacement copy, long offset, int length) throws IOException;
  }

  private final Manifest manifest;
  private final PackLayout layout;
  private final Map<Integer, FragmentPlacement> copies;
  private final Optional<FragmentReader> backstop;
  private final HolderRead holders;
  private final Map<Integer, IOException> holderFailures = new ConcurrentHashMap<>();
  /** Indexes whose holder failed other than with a bad block: read from the backstop from then on. */
  private final Set<Integer> holderLost = ConcurrentHashMap.newKeySet();

  /**
   * @param copies one copy per index that has one on a holder
   * @param backstop the pack's backstop (its data fragments), when it is to be read
   */
  RepairSources(Manifest manifest, Map<Integer, FragmentPlacement> copies, Optional<FragmentReader> backstop,
      HolderRead holders) {
    this.manifest = manifest;
    this.layout = manifest.layout();
    this.copies = Map.copyOf(copies);
    this.backstop = backstop;
    this.holders = holders;
  }

  /** The holder copy read for fragment {@code index}, or null when it has none. */
  FragmentPlacement copy(int index) {
    return copies.get(index);
  }

  /** Whether fragment {@code index} can be read from the backstop (a data fragment, and a backstop to read). */
  boolean backstopHas(int index) {
    return backstop.isPresent() && index >= 0 && index < layout.dataFragmentCount();
  }

  /**
   * Holder copies whose reads failed and were read around through the backstop, by index, with
   * why (a bad block before any other failure, as the rebuilder reports them).
   */
  Map<Integer, IOException> holderFailures() {
    return new TreeMap<>(holderFailures);
  }

  @Override
  public byte[] read(int index, long offset, int length) throws IOException {
    FragmentPlacement copy = copies.get(index);
    if (!backstopHas(index)) {
      if (copy == null) {
        throw new IOException("fragment " + index + " has no copy to read and is not in a backstop");
      }
      return holders.read(copy, offset, length); // verified by the rebuilder, failures are this copy's
    }
    if (copy != null && !holderLost.contains(index)) {
      try {
        byte[] bytes = holders.read(copy, offset, length);
        if (bytes.length != length) {
          throw new IOException("fragment " + index + " returned " + bytes.length + " bytes, asked for " + length);
        }
        verify(index, offset, bytes);
        return bytes;
      } catch (FragmentCorruptException e) {
        holderFailures.put(index, e); // its other blocks may still serve
      } catch (java.io.InterruptedIOException e) {
        // A read cancelled (hedged around, or the coordinator stopping): not the holder's fault.
        throw e;
      } catch (IOException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw e;
        }
        holderFailures.merge(index, e, (before, now) -> before instanceof FragmentCorruptException ? before : now);
        holderLost.add(index);
      }
    }
    return backstop.orElseThrow().read(index, offset, length);
  }

  /** Checks whole blocks read from a holder at {@code offset} (block-aligned) against the manifest. */
  private void verify(int index, long offset, byte[] bytes) throws IOException {
    if (offset % layout.blockSize() != 0) {
      throw new IllegalArgumentException("offset " + offset + " is not at a block boundary");
    }
    int block = Math.toIntExact(offset / layout.blockSize());
    int off = 0;
    while (off < bytes.length) {
      if (block >= layout.blockCount()) {
        throw new IOException("fragment " + index + " returned bytes past its last block");
      }
      int len = layout.blockLength(block);
      if (off + len > bytes.length || !manifest.fragments().get(index).blockHashes().matches(block, bytes, off, len)) {
        throw new FragmentCorruptException(index, block);
      }
      off += len;
      block++;
    }
  }
}
