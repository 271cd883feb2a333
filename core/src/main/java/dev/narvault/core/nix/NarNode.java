package dev.narvault.core.nix;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** A file-system object as a NAR describes it: a regular file, a symlink or a directory. */
public sealed interface NarNode {

  /** Opens a regular file's contents; called once per serialisation. */
  @FunctionalInterface
  interface Contents {
    InputStream open() throws IOException;
  }

  /** A regular file of {@code size} bytes whose bytes {@code contents} streams. */
  record Regular(boolean executable, long size, Contents contents) implements NarNode {
    public Regular {
      if (size < 0) {
        throw new IllegalArgumentException("file size must be >= 0, got " + size);
      }
    }
  }

  record Symlink(String target) implements NarNode {
    public Symlink {
      if (target.isEmpty() || target.indexOf('\0') >= 0) {
        throw new IllegalArgumentException("invalid symlink target '" + target + "'");
      }
    }
  }

  /** Entries sorted by name, as the NAR format requires; names checked as Nix checks them. */
  record Directory(SortedMap<String, NarNode> entries) implements NarNode {
    public Directory {
      for (String name : entries.keySet()) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
            || name.indexOf('\0') >= 0) {
          throw new IllegalArgumentException("invalid NAR entry name '" + name + "'");
        }
      }
      entries = Collections.unmodifiableSortedMap(new TreeMap<>(entries));
    }
  }

  static Regular file(byte[] bytes) {
    byte[] copy = bytes.clone();
    return new Regular(false, copy.length, () -> new ByteArrayInputStream(copy));
  }

  static Regular executable(byte[] bytes) {
    byte[] copy = bytes.clone();
    return new Regular(true, copy.length, () -> new ByteArrayInputStream(copy));
  }

  static Directory directory(Map<String, NarNode> entries) {
    return new Directory(new TreeMap<>(entries));
  }
}
