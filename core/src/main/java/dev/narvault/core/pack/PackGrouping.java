package dev.narvault.core.pack;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Groups NAR objects into packs: whole objects, in the order given, concatenated while the pack
 * stays within the target size; an object larger than the target gets a pack of its own.
 */
public final class PackGrouping {
  public static final long DEFAULT_TARGET_SIZE = 64L << 20;

  private PackGrouping() {}

  /**
   * The one rule: an object starts a new pack when the current pack is not empty and the object
   * would take it past the target. (So an object larger than the target still gets a pack.)
   */
  public static boolean startsNewPack(boolean currentEmpty, long currentSize, long objectSize, long targetSize) {
    return !currentEmpty && currentSize + objectSize > targetSize;
  }

  public static <T> List<List<T>> group(List<T> items, ToLongFunction<T> size, long targetSize) {
    if (targetSize < 1) {
      throw new IllegalArgumentException("target pack size must be >= 1, got " + targetSize);
    }
    List<List<T>> packs = new ArrayList<>();
    List<T> current = new ArrayList<>();
    long currentSize = 0;
    for (T item : items) {
      long s = size.applyAsLong(item);
      if (s < 1) {
        throw new IllegalArgumentException("object of size " + s + " cannot be packed: " + item);
      }
      if (startsNewPack(current.isEmpty(), currentSize, s, targetSize)) {
        packs.add(List.copyOf(current));
        current.clear();
        currentSize = 0;
      }
      current.add(item);
      currentSize += s;
    }
    if (!current.isEmpty()) {
      packs.add(List.copyOf(current));
    }
    return packs;
  }
}
