package dev.narvault.encoder.input;

import dev.narvault.core.nix.NarInfo;
import dev.narvault.core.nix.StorePath;
import dev.narvault.core.s3.ObjectNotFoundException;
import dev.narvault.core.s3.ObjectSource;
import dev.narvault.encoder.sorted.StoreHashSet;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The closures of hot roots ({@code migrate --hot-roots}): every store path a root refers to,
 * directly or through others, by the {@code References} of the narinfos in the cache. What users
 * fetch together with a release's paths stays in S3.
 *
 * <p>Breadth first, a level at a time, on disk: the paths found so far are a {@link StoreHashSet}
 * (sorted, looked up through its sparse index), the level being expanded is read from its own
 * sorted file, and the references it names that are new are gathered into the next level's file.
 * Then the found set and the new level are merged into a new found set. Memory: the sort's
 * budget and {@value #WINDOW} narinfos in flight, however large the closure; each level costs a
 * pass over what was found, so a closure of depth d and size n costs d·n record reads.
 *
 * <p>A root or reference whose narinfo the cache does not have is in the closure (what it refers
 * to is unknown, and it cannot be archived anyway); a narinfo that does not parse, likewise.
 * Signatures are not checked: a reference more only keeps more in S3.
 */
public final class HotClosure {
  /** Narinfos fetched at once. */
  static final int WINDOW = 32;

  /** The closure and how it was found. */
  public record Result(StoreHashSet paths, long roots, int levels, long missing, long unreadable) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%,d store paths in the closures of %,d hot roots (%d levels of references; "
          + "%,d without a narinfo in the cache, %,d unreadable)", paths.size(), roots, levels, missing, unreadable);
    }
  }

  private HotClosure() {}

  /**
   * Reads the root lists (store paths, one a line, plain or compressed: a channel's
   * {@code store-paths.xz}) and follows references through the cache's narinfos.
   *
   * @throws IllegalArgumentException for a line of a list that is not a store path
   */
  public static Result compute(List<Path> rootLists, ObjectSource objects, Path dir, long memoryBytes,
      PrintStream progress) throws IOException {
    StoreHashSet found = StoreHashSet.read(rootLists, dir, memoryBytes);
    long roots = found.size();
    StoreHashSet level = null;
    long[] missing = {0};
    long[] unreadable = {0};
    int levels = 0;
    try (ExecutorService fetchers = Executors.newVirtualThreadPerTaskExecutor()) {
      StoreHashSet expanding = found;
      while (expanding.size() > 0) {
        levels++;
        StoreHashSet next;
        try (StoreHashSet.Builder builder = StoreHashSet.builder(dir, memoryBytes)) {
          expand(expanding, found, builder, objects, fetchers, missing, unreadable);
          next = builder.finish();
        }
        if (level != null) {
          level.close();
        }
        level = next;
        if (next.size() == 0) {
          break;
        }
        try (StoreHashSet.Builder union = StoreHashSet.builder(dir, memoryBytes)) {
          union.addAll(found);
          union.addAll(next);
          StoreHashSet merged = union.finish();
          found.close();
          found = merged;
        }
        progress.printf(Locale.ROOT, "hot closure: level %d added %,d store paths (%,d so far)%n", levels, next.size(),
            found.size());
        expanding = next;
      }
    } catch (IOException | RuntimeException e) {
      found.close();
      throw e;
    } finally {
      if (level != null) {
        level.close();
      }
    }
    return new Result(found, roots, levels, missing[0], unreadable[0]);
  }

  /** Adds to {@code next} every reference of the paths of {@code level} that {@code found} lacks. */
  private static void expand(StoreHashSet level, StoreHashSet found, StoreHashSet.Builder next, ObjectSource objects,
      ExecutorService fetchers, long[] missing, long[] unreadable) throws IOException {
    ArrayDeque<Future<Narinfo>> window = new ArrayDeque<>();
    try (StoreHashSet.Hashes hashes = level.hashes()) {
      String hash;
      while ((hash = hashes.next()) != null) {
        String h = hash;
        window.add(fetchers.submit(() -> references(objects, h)));
        if (window.size() >= WINDOW) {
          take(window.poll(), found, next, missing, unreadable);
        }
      }
      while (!window.isEmpty()) {
        take(window.poll(), found, next, missing, unreadable);
      }
    } finally {
      window.forEach(f -> f.cancel(true));
    }
  }

  private static void take(Future<Narinfo> fetched, StoreHashSet found, StoreHashSet.Builder next,
      long[] missing, long[] unreadable) throws IOException {
    Narinfo narinfo;
    try {
      narinfo = fetched.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading narinfos of hot closures");
    }
    switch (narinfo) {
      case Narinfo.Missing m -> missing[0]++;
      case Narinfo.Unreadable u -> unreadable[0]++;
      case Narinfo.References r -> {
        for (String hash : r.hashes()) {
          if (!found.contains(hash)) {
            next.add(hash);
          }
        }
      }
    }
  }

  /** What a path's narinfo says of its references. */
  private sealed interface Narinfo {
    record References(List<String> hashes) implements Narinfo {}

    record Missing() implements Narinfo {}

    record Unreadable() implements Narinfo {}
  }

  /** The store hashes a path's narinfo references (itself excluded), if the cache has a readable one. */
  private static Narinfo references(ObjectSource objects, String hash) throws IOException {
    byte[] bytes;
    try {
      bytes = objects.readSmall(hash + ".narinfo", NarInfo.MAX_BYTES);
    } catch (ObjectNotFoundException e) {
      return new Narinfo.Missing();
    }
    try {
      NarInfo info = NarInfo.parse(bytes);
      List<String> refs = new ArrayList<>();
      for (StorePath p : info.references()) {
        if (!p.hashPart().equals(hash)) {
          refs.add(p.hashPart());
        }
      }
      return new Narinfo.References(refs);
    } catch (IllegalArgumentException e) {
      return new Narinfo.Unreadable();
    }
  }
}
